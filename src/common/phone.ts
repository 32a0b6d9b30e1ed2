import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

const JID_SUFFIX = /@(c\.us|s\.whatsapp\.net)$/;

/**
 * E.164 digits (no `+`) from a number as WhatsApp providers write it: `16505551234`, `+1 650-555-1234`,
 * `6281234567890@c.us`, `6281234567890@s.whatsapp.net`, `6281234567890:12@s.whatsapp.net` (device suffix).
 * Provider numbers are always international, so this is a cheap digit extraction for the ingest hot path.
 * @returns the digits, or null for group JIDs (`@g.us`), `@lid` ids, broadcast ids and anything without 6–15 digits.
 */
export function waIdToDigits(input: string | null | undefined): string | null {
  if (!input) return null;
  let s = input.trim();
  if (s.includes('@')) {
    if (!JID_SUFFIX.test(s)) return null;
    s = s.replace(JID_SUFFIX, '').replace(/:\d+$/, '');
  }
  const digits = s.replace(/[\s()+.-]/g, '');
  return /^\d{6,15}$/.test(digits) ? digits : null;
}

/**
 * Normalises a number written by a person (`+62 812-3456-7890`, `081234567890` with the default region, or a
 * WhatsApp JID) to E.164 digits with libphonenumber-js.
 * @returns the digits, or null when the input is not a valid phone number.
 */
export function normalizePhone(input: string, defaultRegion: CountryCode | undefined = undefined): string | null {
  const trimmed = input.trim();
  if (trimmed.includes('@')) return waIdToDigits(trimmed);
  const parsed = parsePhoneNumberFromString(/^\d+$/.test(trimmed) && !defaultRegion ? `+${trimmed}` : trimmed, defaultRegion);
  if (parsed?.isValid()) return parsed.number.slice(1);
  // Digits only and plausible length: providers send numbers libphonenumber's metadata may not know yet.
  const digits = trimmed.replace(/[\s()+.-]/g, '');
  return /^\d{8,15}$/.test(digits) && !digits.startsWith('0') ? digits : null;
}
