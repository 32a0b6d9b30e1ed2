import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';

export const PROVIDERS = ['meta', 'wablas', 'wwebjs', 'baileys'] as const;
export type Provider = (typeof PROVIDERS)[number];

/**
 * One WhatsApp number on one provider: a Meta `phone_number_id`, a Wablas `deviceId`, a wwebjs or Baileys session id.
 */
@Entity('sessions')
@Unique('uq_sessions_provider_external', ['provider', 'externalId'])
export class SessionEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 16 })
  provider: Provider;

  /** Provider's id of the number: Meta phone_number_id, Wablas deviceId, wwebjs/Baileys session id. */
  @Column({ name: 'external_id', type: 'varchar', length: 128 })
  externalId: string;

  /** The number as the provider displays it (E.164 digits when known). */
  @Column({ name: 'display_number', type: 'varchar', length: 32, nullable: true })
  displayNumber: string | null;

  @Column({ type: 'varchar', length: 32, default: 'unknown' })
  status: string;

  /** Owner in the integrator's system (seed s4 `userId`). */
  @Column({ name: 'user_id', type: 'varchar', length: 128, nullable: true })
  userId: string | null;

  /** Current login QR string while one is live (cleared by ready/disconnected). */
  @Column({ type: 'text', nullable: true })
  qr: string | null;

  @Column({ name: 'qr_at', type: 'timestamptz', nullable: true })
  qrAt: Date | null;

  /** wwebjs loading_screen progress, 0–100. */
  @Column({ name: 'loading_percent', type: 'smallint', nullable: true })
  loadingPercent: number | null;

  @Column({ name: 'status_message', type: 'text', nullable: true })
  statusMessage: string | null;

  @Column({ name: 'last_event_at', type: 'timestamptz', nullable: true })
  lastEventAt: Date | null;

  @Column({ name: 'connected_at', type: 'timestamptz', nullable: true })
  connectedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
