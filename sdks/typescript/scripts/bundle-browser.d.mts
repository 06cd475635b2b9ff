/** Declarations of bundle-browser.mjs (for the browser e2e test). */
export interface BundleMetafile {
  inputs: Record<string, { bytes: number; imports: { path: string; kind: string }[] }>;
  outputs: Record<string, { bytes: number; entryPoint?: string }>;
}
export declare const DEFAULT_OUTFILE: string;
export declare function nodeImports(metafile: BundleMetafile): { importer: string; path: string }[];
export declare function bundleBrowser(opts?: {
  outfile?: string;
  minify?: boolean;
}): Promise<BundleMetafile>;
