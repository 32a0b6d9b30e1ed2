/**
 * Request examples of the OpenAPI document, by operation id and media type: bodies that succeed when sent as
 * written (test/openapi-examples.e2e-spec.ts sends every one to the app), instead of the bodies Swagger UI would
 * make up from the schemas (every optional object present, strings "string"), which fail validation.
 */
export const REQUEST_EXAMPLES: Readonly<Record<string, Readonly<Record<string, Record<string, { summary: string; value: unknown }>>>>> = {
  createApiKey: {
    'application/json': {
      reader: { summary: 'A read-only key', value: { name: 'crm-reader', scopes: ['read'] } },
      sender: {
        summary: 'A key that reads and sends, expiring',
        value: { name: 'odoo', scopes: ['read', 'send'], expiresAt: '2030-01-01T00:00:00Z' },
      },
    },
  },
  createSession: {
    'application/json': {
      baileys: { summary: 'A Baileys session (scan its QR next)', value: { provider: 'baileys', name: 'sales-team', userId: 'user-42' } },
    },
  },
  requestPairingCode: {
    'application/json': { phone: { summary: 'The phone number to link', value: { phoneNumber: '+16505551111' } } },
  },
  updateSession: {
    'application/json': { owner: { summary: 'Set the owner (seed s4 `userId`)', value: { userId: 'user-42' } } },
  },
  setSessionDefault: {
    'application/json': { owner: { summary: "Default owner of the provider's sessions", value: { userId: 'user-456' } } },
  },
  sendMessage: {
    'application/json': {
      text: {
        summary: 'A text, from the only connected session (or DEFAULT_SESSION_ID; else add `sessionId`)',
        value: { to: '+1 650-253-0000', type: 'text', text: { body: 'Hello from wa-hub' } },
      },
      image: {
        summary: 'An image by link, with a caption',
        value: { to: '+1 650-253-0000', type: 'image', image: { link: 'https://example.com/photos/taj-mahal.jpg', caption: 'Taj Mahal' } },
      },
      location: {
        summary: 'A location',
        value: { to: '+1 650-253-0000', type: 'location', location: { latitude: 27.1751, longitude: 78.0421, name: 'Taj Mahal' } },
      },
    },
  },
  createAutoReply: {
    'application/json': {
      hours: {
        summary: 'Answer questions about opening hours',
        value: {
          name: 'Opening hours',
          matchType: 'contains',
          pattern: 'opening hours',
          reply: 'We are open 9:00–17:00, Monday to Friday.',
        },
      },
    },
  },
  updateAutoReply: { 'application/json': { disable: { summary: 'Turn a rule off', value: { enabled: false } } } },
  createContact: {
    'application/json': {
      contact: {
        summary: 'A contact',
        value: { phone: '+62 812-3456-7890', name: 'Budi Santoso', email: 'budi@example.com', tags: ['vip'], externalRef: 'crm-1042' },
      },
    },
  },
  updateContact: { 'application/json': { rename: { summary: 'Rename and retag', value: { name: 'Budi S.', tags: ['vip', 'jakarta'] } } } },
  importContacts: {
    'text/csv': {
      csv: {
        summary: 'CSV with a header row (tags separated by `;`)',
        value: 'phone,name,email,tags\n+62 812-3456-7890,Budi,budi@example.com,vip;jakarta\n+62 813-1234-5678,Siti,,\n',
      },
    },
    'application/json': {
      json: {
        summary: 'A JSON array of contacts',
        value: [
          { phone: '+62 812-3456-7890', name: 'Budi', email: 'budi@example.com', tags: ['vip', 'jakarta'] },
          { phone: '+62 813-1234-5678', name: 'Siti' },
        ],
      },
    },
  },
  createWebhook: {
    'application/json': {
      received: {
        summary: 'Received messages, to one URL',
        value: { url: 'https://example.com/hooks/wa', events: ['message.received'], description: 'CRM inbox' },
      },
    },
  },
  updateWebhook: { 'application/json': { disable: { summary: 'Pause deliveries', value: { enabled: false } } } },
  replayWebhookEvents: {
    'application/json': {
      day: { summary: 'One day of events again', value: { from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z' } },
    },
  },
  compatOdooSendMessage: {
    'application/json': { text: { summary: 'A text (seed s0)', value: { phone: '6285137033257', message: 'Hello from Odoo' } } },
  },
  compatDjangoMarkRead: {
    'application/json': { contact: { summary: "A contact's conversations (seed s3)", value: { phone_number: '919876543210' } } },
  },
  compatFlaskSend: {
    'application/json': { text: { summary: 'A text (seed s2)', value: { to: '6281234567890', message: 'Hello from WhatsApp API!' } } },
  },
  compatFlaskWebhook: {
    'application/json': {
      text: {
        summary: 'An inbound text (seed s2)',
        value: { from: '6281234567890', message: 'Hi, is my order ready?', timestamp: 1764590400 },
      },
    },
  },
};
