/**
 * Credentials from a local JSON file, for `npm start`: `{"<secret name>": {"token": "..."}}`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { configurationError } from '../errors.js';
import { type Redactor, redactor } from '../redaction.js';
import {
  acceptSecret,
  type CredentialStore,
  type GetSecretOptions,
  type SecretValue,
  SingleFlightRefresh,
  untilAborted,
} from './store.js';

/**
 * {@link CredentialStore} over a JSON file (by default `local/secrets.json`, which git ignores).
 * The file is read once and again on `forceRefresh`, so editing it takes effect after a 401
 * (concurrent forced reads share one).
 */
export class LocalFileCredentialStore implements CredentialStore {
  readonly #file: string;
  readonly #redactor: Redactor;
  #content: Promise<Record<string, unknown>> | undefined;
  readonly #forcedReads = new SingleFlightRefresh<Record<string, unknown>>();

  /**
   * @param file - path of the JSON file
   * @param target - @default the process-wide redactor
   */
  constructor(file: string, target: Redactor = redactor) {
    this.#file = path.resolve(file);
    this.#redactor = target;
  }

  /** The absolute path of the file. */
  get file(): string {
    return this.#file;
  }

  /** @inheritdoc */
  async getSecret(name: string, options: GetSecretOptions = {}): Promise<SecretValue> {
    if (options.forceRefresh) {
      this.#content = this.#forcedReads.run(this.#file, () => this.#read());
    } else if (!this.#content) {
      this.#content = this.#read();
    }
    const reading = this.#content;
    reading.catch(() => {
      if (this.#content === reading) this.#content = undefined;
    });
    const content = await untilAborted(reading, options.signal, name);
    if (!Object.hasOwn(content, name)) {
      throw configurationError(`Secret '${name}' not found in local secrets file ${this.#file}.`);
    }
    return acceptSecret(name, `local secrets file ${this.#file}`, content[name], this.#redactor);
  }

  async #read(): Promise<Record<string, unknown>> {
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch {
      throw configurationError(
        `Local secrets file ${this.#file} cannot be read; copy local/secrets.example.json to local/secrets.json or set LOCAL_SECRETS_FILE.`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw configurationError(`Local secrets file ${this.#file} is not valid JSON.`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw configurationError(`Local secrets file ${this.#file} must hold a JSON object of secrets.`);
    }
    return parsed as Record<string, unknown>;
  }
}
