import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The delivery pump claims due deliveries per subscription (src/forwarding/forwarding.repository.ts): without this
 * index each subscription's claim scans the due rows of every subscription once a backlog builds up.
 */
export class DeliveryClaimIndex1764892800000 implements MigrationInterface {
  name = 'DeliveryClaimIndex1764892800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX ix_webhook_deliveries_sub_due ON webhook_deliveries (subscription_id, next_attempt_at, id) WHERE state = 'pending'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS ix_webhook_deliveries_sub_due`);
  }
}
