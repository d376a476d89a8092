import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalFileCredentialStore } from '../../functions/shared/credentials/local-file.js';
import { SecretsManagerCredentialStore } from '../../functions/shared/credentials/secrets-manager.js';
import { ConnectorError } from '../../functions/shared/errors.js';
import { REDACTED, Redactor } from '../../functions/shared/redaction.js';

describe('LocalFileCredentialStore', () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'connector-suite-credentials-'));
    file = path.join(dir, 'secrets.json');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function writeSecrets(content: unknown): Promise<void> {
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content), 'utf8');
  }

  it('reads a secret from the file', async () => {
    // Prepare
    await writeSecrets({ httpbin: { token: 'tok-example' }, other: { apiKey: 'fake-api-key' } });
    const store = new LocalFileCredentialStore(file, new Redactor());

    // Act
    const secret = await store.getSecret('httpbin');

    // Assess
    expect(secret).toEqual({ token: 'tok-example' });
    expect(store.file).toBe(path.resolve(file));
  });

  it('registers the secret fields it hands out with the redactor, not the user name', async () => {
    // Prepare
    await writeSecrets({ vendor: { username: 'fake-user', password: 'fake-password' } });
    const redactor = new Redactor();
    const store = new LocalFileCredentialStore(file, redactor);

    // Act
    await store.getSecret('vendor');

    // Assess
    expect(redactor.redactString('fake-user:fake-password')).toBe(`fake-user:${REDACTED}`);
  });

  it('a missing secret is a CONFIGURATION_ERROR naming the secret and the file', async () => {
    // Prepare
    await writeSecrets({ httpbin: { token: 'tok-example' } });
    const store = new LocalFileCredentialStore(file, new Redactor());

    // Act
    const error = await store.getSecret('stripe').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'CONFIGURATION_ERROR', httpStatus: 500, source: 'connector' });
    expect((error as Error).message).toContain("'stripe'");
    expect((error as Error).message).toContain(path.resolve(file));
  });

  it('a missing file is a CONFIGURATION_ERROR naming the file', async () => {
    // Prepare
    const missing = path.join(dir, 'absent.json');
    const store = new LocalFileCredentialStore(missing, new Redactor());

    // Act
    const error = await store.getSecret('httpbin').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'CONFIGURATION_ERROR' });
    expect((error as Error).message).toContain(missing);
  });

  it('a file that appears later is read on the next call', async () => {
    // Prepare
    const store = new LocalFileCredentialStore(file, new Redactor());
    await store.getSecret('httpbin').catch(() => undefined);
    await writeSecrets({ httpbin: { token: 'tok-example' } });

    // Act
    const secret = await store.getSecret('httpbin');

    // Assess
    expect(secret).toEqual({ token: 'tok-example' });
  });

  it('invalid JSON is a CONFIGURATION_ERROR naming the file, without quoting its content', async () => {
    // Prepare
    await writeSecrets('{"httpbin": {"token": "tok-example-unterminated');
    const store = new LocalFileCredentialStore(file, new Redactor());

    // Act
    const error = await store.getSecret('httpbin').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'CONFIGURATION_ERROR' });
    expect((error as Error).message).toContain(path.resolve(file));
    expect((error as Error).message).toContain('not valid JSON');
    expect((error as Error).message).not.toContain('tok-example-unterminated');
  });

  it.each([
    ['an array', '[{"token": "tok-example"}]'],
    ['a string', '"tok-example"'],
    ['null', 'null'],
  ])('a file holding %s is a CONFIGURATION_ERROR', async (_name, content) => {
    // Prepare
    await writeSecrets(content);
    const store = new LocalFileCredentialStore(file, new Redactor());

    // Act
    const error = await store.getSecret('httpbin').catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ code: 'CONFIGURATION_ERROR' });
  });

  it('a secret that is not an object of strings is a CONFIGURATION_ERROR naming the field, not its value', async () => {
    // Prepare
    await writeSecrets({ vendor: { token: 'tok-example', port: 8443 } });
    const store = new LocalFileCredentialStore(file, new Redactor());

    // Act
    const error = await store.getSecret('vendor').catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ code: 'CONFIGURATION_ERROR' });
    expect((error as Error).message).toContain("'port'");
    expect((error as Error).message).not.toContain('tok-example');
  });

  it('re-reads the file on forceRefresh only', async () => {
    // Prepare
    await writeSecrets({ httpbin: { token: 'tok-example-old' } });
    const store = new LocalFileCredentialStore(file, new Redactor());
    const first = await store.getSecret('httpbin');
    await writeSecrets({ httpbin: { token: 'tok-example-new' } });

    // Act
    const cached = await store.getSecret('httpbin');
    const refreshed = await store.getSecret('httpbin', { forceRefresh: true });
    const afterRefresh = await store.getSecret('httpbin');

    // Assess
    expect(first).toEqual({ token: 'tok-example-old' });
    expect(cached).toEqual({ token: 'tok-example-old' });
    expect(refreshed).toEqual({ token: 'tok-example-new' });
    expect(afterRefresh).toEqual({ token: 'tok-example-new' });
  });
});

describe('SecretsManagerCredentialStore', () => {
  const secretsManager = mockClient(SecretsManagerClient);
  let client: SecretsManagerClient;

  beforeEach(() => {
    secretsManager.reset();
    client = new SecretsManagerClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'LOCALFAKEKEY', secretAccessKey: 'local-fake-secret' },
    });
  });

  afterEach(() => {
    client.destroy();
    vi.useRealTimers();
  });

  it('parses a JSON secret and registers its values', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"token":"tok-example"}' });
    const redactor = new Redactor();
    const store = new SecretsManagerCredentialStore({ client, redactor });

    // Act
    const secret = await store.getSecret('httpbin');

    // Assess
    expect(secret).toEqual({ token: 'tok-example' });
    expect(secretsManager.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: 'httpbin',
    });
    expect(redactor.redactString('Bearer tok-example')).toBe(`Bearer ${REDACTED}`);
  });

  it('parses a binary JSON secret', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretBinary: new TextEncoder().encode('{"apiKey":"fake-api-key"}') });
    const store = new SecretsManagerCredentialStore({ client, redactor: new Redactor() });

    // Act
    const secret = await store.getSecret('vendor');

    // Assess
    expect(secret).toEqual({ apiKey: 'fake-api-key' });
  });

  it('serves a value from memory within maxAgeSeconds: one SDK call for two reads', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"token":"tok-example"}' });
    const store = new SecretsManagerCredentialStore({ client, maxAgeSeconds: 300, redactor: new Redactor() });

    // Act
    const first = await store.getSecret('httpbin');
    const second = await store.getSecret('httpbin');

    // Assess
    expect(first).toEqual({ token: 'tok-example' });
    expect(second).toEqual({ token: 'tok-example' });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('fetches again once maxAgeSeconds have passed', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: '{"token":"tok-example-old"}' })
      .resolves({ SecretString: '{"token":"tok-example-rotated"}' });
    const store = new SecretsManagerCredentialStore({ client, maxAgeSeconds: 60, redactor: new Redactor() });
    await store.getSecret('httpbin');

    // Act
    vi.advanceTimersByTime(59_000);
    const withinMaxAge = await store.getSecret('httpbin');
    vi.advanceTimersByTime(2_000);
    const afterMaxAge = await store.getSecret('httpbin');

    // Assess
    expect(withinMaxAge).toEqual({ token: 'tok-example-old' });
    expect(afterMaxAge).toEqual({ token: 'tok-example-rotated' });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('fetches again on forceRefresh', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: '{"token":"tok-example-old"}' })
      .resolves({ SecretString: '{"token":"tok-example-rotated"}' });
    const store = new SecretsManagerCredentialStore({ client, redactor: new Redactor() });
    await store.getSecret('httpbin');

    // Act
    const refreshed = await store.getSecret('httpbin', { forceRefresh: true });
    const afterRefresh = await store.getSecret('httpbin');

    // Assess
    expect(refreshed).toEqual({ token: 'tok-example-rotated' });
    expect(afterRefresh).toEqual({ token: 'tok-example-rotated' });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('uses the secret id mapped to a secret name', async () => {
    // Prepare
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:connector-suite/httpbin-AbCdEf';
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"token":"tok-example"}' });
    const store = new SecretsManagerCredentialStore({
      client,
      secretIds: { httpbin: arn },
      redactor: new Redactor(),
    });

    // Act
    await store.getSecret('httpbin');

    // Assess
    const calls = secretsManager.commandCalls(GetSecretValueCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input.SecretId).toBe(arn);
  });

  it('a ResourceNotFoundException is a CONFIGURATION_ERROR naming the secret and the secret id', async () => {
    // Prepare
    const secretId = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-XyZ123';
    secretsManager.on(GetSecretValueCommand).rejects(
      new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const store = new SecretsManagerCredentialStore({
      client,
      secretIds: { stripe: secretId },
      redactor: new Redactor(),
    });

    // Act
    const error = await store.getSecret('stripe').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'CONFIGURATION_ERROR', httpStatus: 500 });
    expect((error as Error).message).toContain("'stripe'");
    expect((error as Error).message).toContain(secretId);
  });

  it('a SecretString that is not JSON is a CONFIGURATION_ERROR that does not quote it', async () => {
    // Prepare
    const raw = 'tok-example-plain-text-secret';
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: raw });
    const store = new SecretsManagerCredentialStore({ client, redactor: new Redactor() });

    // Act
    const error = await store.getSecret('httpbin').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ code: 'CONFIGURATION_ERROR' });
    expect((error as Error).message).toContain("'httpbin'");
    expect((error as Error).message).not.toContain(raw);
    expect(JSON.stringify((error as ConnectorError).toBody('req-1'))).not.toContain(raw);
  });

  it('a JSON secret that is not an object is a CONFIGURATION_ERROR', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '"tok-example"' });
    const store = new SecretsManagerCredentialStore({ client, redactor: new Redactor() });

    // Act
    const error = await store.getSecret('httpbin').catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ code: 'CONFIGURATION_ERROR' });
    expect((error as Error).message).not.toContain('tok-example');
  });

  it('an access denial is a CONFIGURATION_ERROR naming the secret', async () => {
    // Prepare
    const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
    secretsManager.on(GetSecretValueCommand).rejects(denied);
    const store = new SecretsManagerCredentialStore({ client, redactor: new Redactor() });

    // Act
    const error = await store.getSecret('httpbin').catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ code: 'CONFIGURATION_ERROR' });
    expect((error as Error).message).toContain("'httpbin'");
    expect((error as Error).message).toContain('AccessDeniedException');
  });

  it.each([
    ['throttling', Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })],
    ['a 5xx', Object.assign(new Error('Internal'), { name: 'InternalServiceError', $fault: 'server' })],
    ['a timeout', Object.assign(new Error('Request timed out'), { name: 'TimeoutError' })],
    ['a network failure', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
  ])(
    '%s is the retryable DEPENDENCY_UNAVAILABLE from the connector (503), not a vendor error',
    async (_kind, failure) => {
      // Prepare
      secretsManager.on(GetSecretValueCommand).rejects(failure);
      const store = new SecretsManagerCredentialStore({ client, redactor: new Redactor() });

      // Act
      const error = await store.getSecret('httpbin').catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(ConnectorError);
      expect(error).toMatchObject({
        code: 'DEPENDENCY_UNAVAILABLE',
        httpStatus: 503,
        source: 'connector',
        retryable: true,
        retryAfterSeconds: 1,
      });
    },
  );

  it('twenty concurrent forced reads of one secret make one GetSecretValue (issue 8, defect 16)', async () => {
    // Prepare: the read is held until every caller has asked.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    secretsManager.on(GetSecretValueCommand).callsFake(async () => {
      await held;
      return { SecretString: '{"token":"tok-example-rotated"}' };
    });
    const store = new SecretsManagerCredentialStore({ client, redactor: new Redactor() });

    // Act
    const reads = Array.from({ length: 20 }, () => store.getSecret('httpbin', { forceRefresh: true }));
    await vi.waitFor(() => expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1), {
      timeout: 30_000,
    });
    release();
    const values = await Promise.all(reads);

    // Assess
    expect(values.every((v) => v.token === 'tok-example-rotated')).toBe(true);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('a forced read that failed is not reused: the next one reads again', async () => {
    // Prepare
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves({ SecretString: '{"token":"tok-example"}' });
    const store = new SecretsManagerCredentialStore({ client, redactor: new Redactor() });
    await store.getSecret('httpbin', { forceRefresh: true }).catch(() => undefined);

    // Act
    const value = await store.getSecret('httpbin', { forceRefresh: true });

    // Assess
    expect(value).toEqual({ token: 'tok-example' });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('stops waiting when the signal aborts: DEPENDENCY_UNAVAILABLE, never a wait past the deadline', async () => {
    // Prepare: Secrets Manager never answers.
    secretsManager.on(GetSecretValueCommand).callsFake(() => new Promise(() => undefined));
    const store = new SecretsManagerCredentialStore({ client, redactor: new Redactor() });
    const controller = new AbortController();

    // Act
    const pending = store.getSecret('httpbin', { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    const error = await pending;

    // Assess
    expect(error).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', retryable: true });
  });
});
