// Shared by the benchmarks that post Meta webhooks: the Cloud API notification envelope, its signature, and the
// keep-alive agent the paced senders post them with.
// Shapes from Meta's webhook reference (https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples),
// as in fixture meta.inbound.text (test/fixtures/providers/meta): one WABA entry, one `messages` change.
import { createHmac } from 'node:crypto';
import http from 'node:http';

/** The phone_number_id every bench webhook is addressed to (one Meta session). */
export const BENCH_PHONE_NUMBER_ID = '106540352242922';

/**
 * A Meta webhook body as JSON text: `{object: 'whatsapp_business_account', entry: [{id, changes: [{field:
 * 'messages', value: {messaging_product, metadata, ...value}}]}]}`, where `value` carries `contacts`, `messages`
 * and/or `statuses`.
 */
export function metaEnvelope(value, phoneNumberId = BENCH_PHONE_NUMBER_ID) {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '419561257915477',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
              ...value,
            },
          },
        ],
      },
    ],
  });
}

/** `X-Hub-Signature-256` of `body` (text or bytes) with the app secret: `sha256=<hex HMAC-SHA256>`. */
export function metaSignature(secret, body) {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * A keep-alive agent of at most `maxSockets` sockets for a paced sender. Idle sockets are closed after 4 s, before
 * Node's server drops them (its keepAliveTimeout is 5 s): a request written to a socket the server is closing
 * meets ECONNRESET, a client-side race that is no answer of wa-hub's.
 */
export function senderAgent(maxSockets) {
  return new http.Agent({ keepAlive: true, maxSockets, timeout: 4000 });
}
