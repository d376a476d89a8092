/**
 * A throw-away self-signed certificate for `127.0.0.1`, for an https server on loopback that a
 * connector (https only when deployed) may call: trusted by a child Node process through
 * `NODE_EXTRA_CA_CERTS`. Made by `openssl` (P-256, one day).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The files and contents {@link loopbackCertificate} wrote. */
export interface LoopbackCertificate {
  /** The certificate's file: the value of `NODE_EXTRA_CA_CERTS`. */
  readonly certFile: string;
  /** PEM, for `https.createServer`. */
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * Writes `cert.pem` and `key.pem` into `dir`.
 * @throws Error when `openssl` cannot run
 */
export function loopbackCertificate(dir: string): LoopbackCertificate {
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { certFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}
