import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from './format';

/**
 * Loads `load()` now and whenever `deps` change; `reload()` loads again (e.g. on a live event). Answers that
 * arrive out of order are dropped: only the latest call's result is shown.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: string | null; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const seq = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const reload = useCallback(() => {
    const n = ++seq.current;
    loadRef.current().then(
      (d) => {
        if (n !== seq.current) return;
        setData(d);
        setError(null);
      },
      (e: unknown) => {
        if (n === seq.current) setError(errorText(e));
      },
    );
  }, []);
  useEffect(reload, deps);
  return { data, error, reload };
}
