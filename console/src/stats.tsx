import { useState } from 'preact/hooks';
import { api, type Counts, type Stats } from './api';
import { useLoad } from './hooks';
import { useLive } from './live';

const todayStart = () => {
  const d = new Date();
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).toISOString();
};

/** Today's and the window's totals, a per-day chart (SVG bars), by type and session, delivery times. */
export function StatsPage() {
  const [days, setDays] = useState(7);
  const windowed = useLoad(() => api<Stats>('/v1/stats', { query: { days } }), [days]);
  const today = useLoad(() => api<Stats>('/v1/stats', { query: { from: todayStart() } }), []);
  useLive(['message.'], () => {
    windowed.reload();
    today.reload();
  });
  const s = windowed.data;
  return (
    <div class="grid stats">
      <section class="card span-all">
        <div class="card-head">
          <h2>Statistics</h2>
          <label class="inline">
            Window
            <select name="days" value={String(days)} onChange={(e) => setDays(Number(e.currentTarget.value))}>
              {[1, 7, 14, 30, 90].map((d) => (
                <option key={d} value={d}>
                  {d === 1 ? 'last 24 h' : `last ${d} days`}
                </option>
              ))}
            </select>
          </label>
        </div>
        {windowed.error && <p class="error">{windowed.error}</p>}
        <div class="totals">
          <Totals title="Today" counts={today.data?.window} testid="today" />
          <Totals title={days === 1 ? 'Last 24 h' : `Last ${days} days`} counts={s?.window} testid="window" />
          <Totals title="All time" counts={s?.overall} testid="overall" />
        </div>
      </section>
      {s && (
        <>
          <section class="card span-all">
            <h2>Per day (UTC)</h2>
            <DayChart perDay={s.perDay} />
          </section>
          <section class="card">
            <h2>By type</h2>
            <Breakdown entries={Object.entries(s.byType)} />
          </section>
          <section class="card">
            <h2>By session</h2>
            <Breakdown entries={s.bySession.map((x) => [`${x.externalId} (${x.provider})`, x.count])} />
          </section>
          <section class="card">
            <h2>Outgoing delivery</h2>
            <Breakdown entries={Object.entries(s.delivery.byStatus)} />
            <p class="muted small">
              Median to delivered: {seconds(s.delivery.medianSecondsToDelivered)} · to read: {seconds(s.delivery.medianSecondsToRead)}
            </p>
          </section>
        </>
      )}
    </div>
  );
}

function seconds(n: number | null): string {
  if (n === null) return '–';
  return n < 120 ? `${Math.round(n)} s` : `${Math.round(n / 60)} min`;
}

function Totals({ title, counts, testid }: { title: string; counts: Counts | undefined; testid: string }) {
  return (
    <div class="total" data-testid={`totals-${testid}`}>
      <h3>{title}</h3>
      <p class="big">{counts ? counts.total.toLocaleString() : '…'}</p>
      <p class="muted small">{counts ? `${counts.incoming} in · ${counts.outgoing} out · ${counts.uniqueContacts} contacts` : ''}</p>
    </div>
  );
}

function Breakdown({ entries }: { entries: [string, number][] }) {
  const sorted = entries.filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...sorted.map(([, n]) => n));
  if (sorted.length === 0) return <p class="muted">Nothing in this window.</p>;
  return (
    <ul class="breakdown">
      {sorted.map(([k, n]) => (
        <li key={k}>
          <span class="bd-label">{k}</span>
          <svg class="bd-bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true">
            <rect x="0" y="0" width={(100 * n) / max} height="8" rx="2" />
          </svg>
          <span class="bd-n">{n.toLocaleString()}</span>
        </li>
      ))}
    </ul>
  );
}

/**
 * Stacked bars, incoming under outgoing, one column per UTC day. Each column is an SVG stretched to its flex box
 * (no inline styles under the CSP), so the chart fills any width and the labels stay legible on a phone.
 */
function DayChart({ perDay }: { perDay: Stats['perDay'] }) {
  const max = Math.max(1, ...perDay.map((d) => d.incoming + d.outgoing));
  const every = perDay.length <= 14 ? 1 : Math.ceil(perDay.length / 10);
  return (
    <figure class="chart">
      <div class="bars" role="img" aria-label="Messages per day" data-testid="day-chart">
        {perDay.map((d, i) => {
          const hin = (100 * d.incoming) / max;
          const hout = (100 * d.outgoing) / max;
          const total = d.incoming + d.outgoing;
          return (
            <div class="bar-col" key={d.date} title={`${d.date}: ${d.incoming} in, ${d.outgoing} out`}>
              <span class="bar-n">{total > 0 && every === 1 ? total : ''}</span>
              <svg class="bar-svg" viewBox="0 0 10 100" preserveAspectRatio="none" aria-hidden="true">
                <rect class="bar-in" x="0" y={100 - hin} width="10" height={hin} />
                <rect class="bar-out" x="0" y={100 - hin - hout} width="10" height={hout} />
              </svg>
              <span class="bar-label">{i % every === 0 ? d.date.slice(5) : ''}</span>
            </div>
          );
        })}
      </div>
      <figcaption class="legend small">
        <span class="key key-in" /> incoming <span class="key key-out" /> outgoing · peak {max} per day
      </figcaption>
    </figure>
  );
}
