// Vite handles CSS imports (bundled into /assets/*.css).
declare module '*.css';
