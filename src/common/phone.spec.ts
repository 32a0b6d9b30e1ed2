import { describe, expect, it } from 'vitest';
import { AppError } from './app-error';
import { invalidPhoneReason, knownPhone, normalizePhone, requireKnownPhone, requirePhone, waIdToDigits } from './phone';

describe('normalizePhone (libphonenumber-js isValid)', () => {
  it("rejects issue 15's three examples that used to be stored: 12345678, 99999999999, (415) 555-0100 without a region", () => {
    expect(normalizePhone('12345678')).toBeNull();
    expect(normalizePhone('99999999999')).toBeNull();
    expect(normalizePhone('(415) 555-0100')).toBeNull();
    // ... and with a default region that does not make them valid either.
    expect(normalizePhone('12345678', 'ID')).toBeNull();
    expect(normalizePhone('99999999999', 'US')).toBeNull();
    expect(normalizePhone('(415) 555-0100', 'ID')).toBeNull();
  });

  it('rejects numbers of unassigned ranges, too short or too long, letters, group and lid ids', () => {
    for (const input of ['+15550002222', '15550001111', '+1 555 000 2222', '+62 812', '+6281234567890123', 'abc', '', '081234567890'])
      expect(normalizePhone(input), input).toBeNull();
    expect(normalizePhone('120363000000000001@g.us')).toBeNull();
    expect(normalizePhone('200000000000002@lid')).toBeNull();
    expect(normalizePhone('15550002222@s.whatsapp.net')).toBeNull(); // a JID is checked like any number
  });

  it('accepts international forms without DEFAULT_PHONE_REGION, as E.164 digits', () => {
    const cases: [string, string][] = [
      ['+62 812-3456-7890', '6281234567890'],
      ['6281234567890', '6281234567890'],
      ['+1 (650) 253-0000', '16502530000'],
      ['16502530000', '16502530000'],
      ['+1 650.555.1234', '16505551234'],
      ['  +91 98765 43210 ', '919876543210'],
      ['+49 151 12345678', '4915112345678'],
      ['6281234567890@c.us', '6281234567890'],
      ['6281234567890@s.whatsapp.net', '6281234567890'],
      ['6281234567890:12@s.whatsapp.net', '6281234567890'],
    ];
    for (const [input, digits] of cases) expect(normalizePhone(input), input).toBe(digits);
  });

  it('with DEFAULT_PHONE_REGION reads national forms in that region, and digits with a country code still as international', () => {
    expect(normalizePhone('081234567890', 'ID')).toBe('6281234567890');
    expect(normalizePhone('0812-3456-7890', 'ID')).toBe('6281234567890');
    expect(normalizePhone('(415) 555-0100', 'US')).toBe('14155550100');
    expect(normalizePhone('650 253 0000', 'US')).toBe('16502530000');
    expect(normalizePhone('6281234567890', 'ID')).toBe('6281234567890');
    expect(normalizePhone('6281234567890', 'US')).toBe('6281234567890'); // not a US number: read as international
    expect(normalizePhone('+16502530000', 'ID')).toBe('16502530000');
    expect(normalizePhone('011 62 812 3456 7890', 'US')).toBe('6281234567890'); // the region's international prefix
  });
});

describe('requirePhone / invalidPhoneReason', () => {
  it('the 400 names the field and DEFAULT_PHONE_REGION, set or not', () => {
    const thrown = (region?: string): AppError => {
      try {
        requirePhone('12345678', 'to', region);
      } catch (e) {
        return e as AppError;
      }
      throw new Error('requirePhone accepted 12345678');
    };
    const unset = thrown();
    expect(unset).toBeInstanceOf(AppError);
    expect(unset.status).toBe(400);
    expect(unset.code).toBe('VALIDATION_FAILED');
    expect(unset.message).toMatch(/^to is not a valid phone number/);
    expect(unset.message).toContain('DEFAULT_PHONE_REGION is not set');
    expect(unset.details).toEqual([{ field: 'to', errors: [invalidPhoneReason(undefined)] }]);
    expect(thrown('ID').message).toContain('DEFAULT_PHONE_REGION=ID');
    expect(requirePhone('081234567890', 'phone', 'ID')).toBe('6281234567890');
  });
});

describe('waIdToDigits (the lenient provider-ingest path)', () => {
  it('keeps numbers libphonenumber-js does not know: an acknowledged webhook is never rejected for its number', () => {
    expect(waIdToDigits('15550783881')).toBe('15550783881'); // Meta's test number
    expect(waIdToDigits('15550002222@s.whatsapp.net')).toBe('15550002222');
    expect(waIdToDigits('15550002222:7@s.whatsapp.net')).toBe('15550002222');
    expect(waIdToDigits('12345678')).toBe('12345678');
    expect(waIdToDigits('200000000000002@lid')).toBeNull();
    expect(waIdToDigits('120363000000000001@g.us')).toBeNull();
  });
});

describe('knownPhone / requireKnownPhone', () => {
  const known = new Set(['99999999999']);
  const isKnown = (asked: string[]) => async (digits: string) => (asked.push(digits), known.has(digits));

  it('valid numbers without asking; invalid ones by their digits when known; else null / the requirePhone 400', async () => {
    const asked: string[] = [];
    expect(await knownPhone('+1 650 253 0000', undefined, isKnown(asked))).toBe('16502530000');
    expect(asked).toEqual([]);
    expect(await knownPhone('+99999999999', undefined, isKnown(asked))).toBe('99999999999');
    expect(await knownPhone('99999999999@c.us', undefined, isKnown(asked))).toBe('99999999999');
    expect(await knownPhone('88888888888', undefined, isKnown(asked))).toBeNull();
    expect(await knownPhone('120363025246125486@g.us', undefined, isKnown(asked))).toBeNull();
    expect(asked).toEqual(['99999999999', '99999999999', '88888888888']);
    await expect(requireKnownPhone('88888888888', 'to', undefined, isKnown([]))).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/^to is not a valid phone number .*DEFAULT_PHONE_REGION is not set/),
    });
  });
});
