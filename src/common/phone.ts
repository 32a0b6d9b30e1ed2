import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { AppError } from './app-error';

const JID_SUFFIX = /@(c\.us|s\.whatsapp\.net)$/;

/**
 * E.164 digits (no `+`) from a number as WhatsApp providers write it: `16505551234`, `+1 650-555-1234`,
 * `6281234567890@c.us`, `6281234567890@s.whatsapp.net`, `6281234567890:12@s.whatsapp.net` (device suffix).
 * Provider numbers are always international, so this is a cheap digit extraction for the ingest hot path: it does
 * not check the number against libphonenumber-js (an acknowledged webhook is never rejected for its number).
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
 * Normalises a number written by a person to E.164 digits (no `+`), keeping only what libphonenumber-js (`max`
 * metadata) calls valid (`isValid()`: a real range of a real country, not just 8–15 digits):
 * - international forms: `+62 812-3456-7890`, `0062 812 3456 7890`, digits with their country code `6281234567890`;
 * - national forms (`081234567890`, `(415) 555-0100`) only with `defaultRegion` (DEFAULT_PHONE_REGION): a digit
 *   string is read as national in that region first, then as international;
 * - WhatsApp JIDs `6281234567890@c.us` / `@s.whatsapp.net` (device suffix allowed), checked as international.
 * Not for provider ingest: use {@link waIdToDigits} there.
 * @returns the digits, or null when libphonenumber-js does not call the number valid (`12345678`, `99999999999`,
 *   `(415) 555-0100` without a default region), and for group JIDs and `@lid` ids.
 */
export function normalizePhone(input: string, defaultRegion: CountryCode | undefined = undefined): string | null {
  const trimmed = input.trim();
  if (trimmed.includes('@')) {
    const digits = waIdToDigits(trimmed);
    return digits ? validE164(`+${digits}`) : null;
  }
  if (/^\d+$/.test(trimmed)) return (defaultRegion && validE164(trimmed, defaultRegion)) || validE164(`+${trimmed}`);
  return validE164(trimmed, defaultRegion);
}

/** The reason a number was refused, naming DEFAULT_PHONE_REGION (whose value decides how local forms are read). */
export function invalidPhoneReason(defaultRegion: string | undefined): string {
  return defaultRegion
    ? `not a valid phone number for libphonenumber-js (numbers without a country code are read as DEFAULT_PHONE_REGION=${defaultRegion})`
    : 'not a valid phone number for libphonenumber-js (DEFAULT_PHONE_REGION is not set: write the number with its country code, e.g. +62 812 3456 7890)';
}

/**
 * {@link normalizePhone} for a request field.
 * @throws AppError 400 `VALIDATION_FAILED` "`field` is <reason>" naming DEFAULT_PHONE_REGION, details `[{ field, errors: [reason] }]`.
 */
export function requirePhone(input: string, field: string, defaultRegion: string | undefined): string {
  const digits = normalizePhone(input, defaultRegion as CountryCode | undefined);
  if (digits) return digits;
  const reason = invalidPhoneReason(defaultRegion);
  throw AppError.badRequest(`${field} is ${reason}`, [{ field, errors: [reason] }]);
}

/**
 * The E.164 digits of a number that may name an existing chat: {@link normalizePhone}'s digits when
 * libphonenumber-js calls it valid, else its plain digits ({@link waIdToDigits}: 6–15 digits, or a `@c.us` /
 * `@s.whatsapp.net` JID) when `known(digits)` says wa-hub already has that number. Provider numbers are stored
 * unchecked at ingest, so a chat with a number libphonenumber-js does not know (a new range, a test number) must
 * stay reachable: answered (`to`) and read back (`phone` filters).
 * @param known e.g. "is a chat of this session", "has a contact row"; asked only for numbers that are not valid.
 * @returns the digits, or null.
 */
export async function knownPhone(
  input: string,
  defaultRegion: string | undefined,
  known: (digits: string) => Promise<boolean>,
): Promise<string | null> {
  const valid = normalizePhone(input, defaultRegion as CountryCode | undefined);
  if (valid) return valid;
  const digits = waIdToDigits(input);
  return digits && (await known(digits)) ? digits : null;
}

/**
 * {@link knownPhone} for a request field.
 * @throws AppError 400 `VALIDATION_FAILED` as {@link requirePhone} does (naming `field` and DEFAULT_PHONE_REGION).
 */
export async function requireKnownPhone(
  input: string,
  field: string,
  defaultRegion: string | undefined,
  known: (digits: string) => Promise<boolean>,
): Promise<string> {
  return (await knownPhone(input, defaultRegion, known)) ?? requirePhone(input, field, defaultRegion);
}

function validE164(text: string, region?: CountryCode): string | null {
  const parsed = parsePhoneNumberFromString(text, region);
  return parsed?.isValid() ? parsed.number.slice(1) : null;
}
