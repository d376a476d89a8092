/**
 * `weather`: a connector kind of this app's own, built with the connector kit. One operation,
 * `forecast`, calls `GET /forecast?city=…&units=…` on the connector's `baseUrl`, through the kit's
 * client (auth, deadlines, retries, circuit breaker, rate limit, redaction).
 */
import { defineConnector, defineOperation } from 'connector-suite/runtime';
import * as z from 'zod';

/** The `settings` of a `weather` connector entry. */
export const weatherSettings = z.strictObject({
  /** Units of the forecast. */
  units: z.enum(['metric', 'imperial']).default('metric'),
});

export const weatherConnector = defineConnector({
  kind: 'weather',
  settings: weatherSettings,
  operations: (config) => ({
    forecast: defineOperation({
      description: "The forecast for a city, in the connector's units",
      input: z.strictObject({ city: z.string().min(1).max(100) }),
      run: async (input, ctx) =>
        (
          await ctx.send({
            method: 'GET',
            path: '/forecast',
            query: { city: input.city, units: config.settings.units },
          })
        ).body,
    }),
  }),
});
