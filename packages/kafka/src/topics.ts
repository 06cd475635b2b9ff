/** Topic of a domain's event stream: `<domain>.events.v<N>` (see STYLE.md), e.g. `runs.events.v1`. */
export function topicForDomain(domain: string, version = 1): string {
  if (!/^[a-z][a-z0-9-]*$/.test(domain))
    throw new Error(`invalid domain name for a topic: "${domain}"`);
  if (!Number.isInteger(version) || version < 1)
    throw new Error(`invalid topic version: ${version}`);
  return `${domain}.events.v${version}`;
}
