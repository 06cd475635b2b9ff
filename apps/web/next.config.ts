import type { NextConfig } from 'next';

/**
 * A static export (`out/`): `cairn server` serves these files next to the API, so the dashboard
 * costs the server no Node.js rendering. Every page is a client component; ids travel in query
 * parameters (`/run?id=…`), never in dynamic route segments.
 */
const config: NextConfig = {
  output: 'export',
  trailingSlash: false,
  reactStrictMode: true,
  poweredByHeader: false,
  images: { unoptimized: true },
};

export default config;
