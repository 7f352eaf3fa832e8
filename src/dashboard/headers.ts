/**
 * The page's Content-Security-Policy: everything from this service only, no inline script or
 * style (the page sets no style attribute; charts draw on canvas), no framing, no plugins, no
 * base-URL or form tricks. connect-src 'self' covers the JSON reads, the actions and /v1/events.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every dashboard answer carries: the page's policy, and no sniffing, framing or referrers. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** Headers of the JSON reads and the event stream: never cached, by the browser or anything between. */
export const API_HEADERS: Readonly<Record<string, string>> = { ...PAGE_HEADERS, 'cache-control': 'no-store' };
