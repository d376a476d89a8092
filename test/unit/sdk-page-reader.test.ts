/**
 * `sdkPageReader` (functions/shared/runtime/pagination.ts): a vendor SDK's page iterator read one
 * page per call, kept from one page to the next, and opened anew where the walk stands when the
 * client changed (a rotated secret), the key moved, or the iterator failed.
 */
import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../../functions/shared/errors.js';
import { collectPages, type FetchedPage, sdkPageReader } from '../../functions/shared/runtime/pagination.js';

/** A client of a fake SDK: a name, and the pages it has served. */
interface FakeClient {
  name: string;
  served: number[];
}

/** Pages 1..`last` of two items each (`p1-a`, `p1-b`, ...); `failAt` throws once at that page. */
function fakeSdk(last: number, failAt?: number) {
  const opened: Array<{ client: string; page: number }> = [];
  let failed = false;
  const open = (client: FakeClient, key: number | undefined) => {
    const from = key ?? 1;
    opened.push({ client: client.name, page: from });
    return (async function* pages(): AsyncGenerator<FetchedPage<number>> {
      for (let page = from; page <= last; page += 1) {
        if (page === failAt && !failed) {
          failed = true;
          throw new ConnectorError('AUTHENTICATION_ERROR', 'The vendor rejected the credentials.');
        }
        client.served.push(page);
        yield { items: [`p${page}-a`, `p${page}-b`], next: page < last ? page + 1 : undefined };
      }
    })();
  };
  return { open, opened };
}

describe('sdkPageReader', () => {
  it('opens the iterator once and reads one page per call', async () => {
    // Arrange
    const sdk = fakeSdk(3);
    const read = sdkPageReader(sdk.open);
    const client = { name: 'first', served: [] };

    // Act
    const pages = [await read(client, undefined), await read(client, 2), await read(client, 3)];

    // Assess
    expect(pages.map((page) => page.next)).toEqual([2, 3, undefined]);
    expect(client.served).toEqual([1, 2, 3]);
    expect(sdk.opened).toEqual([{ client: 'first', page: 1 }]);
  });

  it('opens it anew at the key asked for when the client changed (a rotated secret)', async () => {
    // Arrange
    const sdk = fakeSdk(3);
    const read = sdkPageReader(sdk.open);
    const first = { name: 'first', served: [] };
    const rotated = { name: 'rotated', served: [] };

    // Act
    await read(first, undefined);
    const page = await read(rotated, 2);

    // Assess
    expect(page.items).toEqual(['p2-a', 'p2-b']);
    expect(sdk.opened).toEqual([
      { client: 'first', page: 1 },
      { client: 'rotated', page: 2 },
    ]);
  });

  it('opens it anew after a failure, and when the key asked for is not where it stands', async () => {
    // Arrange
    const sdk = fakeSdk(4, 2);
    const read = sdkPageReader(sdk.open);
    const client = { name: 'first', served: [] };

    // Act
    await read(client, undefined);
    const failure = await read(client, 2).catch((error: unknown) => error);
    const retried = await read(client, 2);
    const jumped = await read(client, 4);

    // Assess
    expect(failure).toBeInstanceOf(ConnectorError);
    expect(retried.items).toEqual(['p2-a', 'p2-b']);
    expect(jumped.items).toEqual(['p4-a', 'p4-b']);
    expect(sdk.opened.map((open) => open.page)).toEqual([1, 2, 4]);
  });

  it('reads an iterator that ends as an empty last page', async () => {
    // Arrange
    const read = sdkPageReader<FakeClient, number>(() => (async function* none() {})());

    // Act
    const page = await read({ name: 'first', served: [] }, undefined);

    // Assess
    expect(page).toEqual({ items: [], next: undefined });
  });

  it('walks a whole list with collectPages, one page per pull, none twice after a retried page', async () => {
    // Arrange: page 3 fails once, as a rejected secret would, and is fetched again by a new client.
    const sdk = fakeSdk(5, 3);
    const read = sdkPageReader(sdk.open);
    let client: FakeClient = { name: 'first', served: [] };
    const fetchPage = async (key: number | undefined) => {
      try {
        return await read(client, key);
      } catch {
        client = { name: 'rotated', served: [] };
        return read(client, key);
      }
    };

    // Act
    const answer = await collectPages<number>({
      keyOf: Number,
      fromOf: (page) => page ?? 1,
      fetchPage,
      maxPages: 10,
      maxItems: 100,
      deadlineAtMs: Number.POSITIVE_INFINITY,
      minPageMs: 0,
    });

    // Assess
    expect(answer).toMatchObject({ pages: 5, complete: true });
    expect(answer.items).toEqual([1, 2, 3, 4, 5].flatMap((page) => [`p${page}-a`, `p${page}-b`]));
    expect(sdk.opened).toEqual([
      { client: 'first', page: 1 },
      { client: 'rotated', page: 3 },
    ]);
  });
});
