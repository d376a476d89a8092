/**
 * TLS failures that say the server refused the client's certificate (or its absence). Pure, with no
 * imports: the HTTP client reads it on its failure path only.
 */

/**
 * The TLS alerts (RFC 8446 §6.2) a server sends when it refuses the client's certificate, as
 * OpenSSL names them in Node's error codes (`ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`, ...).
 */
const CLIENT_CERTIFICATE_ALERTS =
  /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED)$/;

/**
 * The TLS alert by which the server refused the client certificate, in lower case words
 * (`certificate required`, `unknown ca`), found on `error` or its causes; `undefined` for any other
 * failure.
 */
export function clientCertificateRefusal(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    const match = typeof code === 'string' ? CLIENT_CERTIFICATE_ALERTS.exec(code) : null;
    if (match) return (match[1] as string).toLowerCase().replace(/_/g, ' ');
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
