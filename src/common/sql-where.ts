/** Builds a parameterised WHERE clause: `add('m.type = ?', value)` numbers the placeholders. */
export class SqlWhere {
  private readonly parts: string[] = [];

  /** @param params values collected so far; pass another SqlWhere's to build two clauses of one query. */
  constructor(readonly params: unknown[] = []) {}

  /** Adds a condition; each `?` in `sql` takes the next value. */
  add(sql: string, ...values: unknown[]): this {
    let i = 0;
    this.parts.push(sql.replace(/\?/g, () => `$${this.params.push(values[i++])}`));
    return this;
  }

  /** Adds a value and returns its placeholder, for LIMIT/OFFSET and the like. */
  param(value: unknown): string {
    return `$${this.params.push(value)}`;
  }

  toString(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}
