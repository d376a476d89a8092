/**
 * The chaos suite's fault table on the asynchronous path (`npm run chaos` prints the same rows, with
 * more calls): every fault of `test/support/chaos/faults.ts` through the real http connector
 * handler. Each row must show 0 `INTERNAL_ERROR`, 0 calls past deadline + margin, 0 repeated side
 * effects, 0 escaped requests and 0 unexpected endings.
 */
import { chaosFaultSuite } from '../support/chaos/fault-suite.js';

chaosFaultSuite('async', 2);
