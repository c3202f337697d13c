import { StrictMode } from 'react';
import { z } from 'zod';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import './i18n';
import './styles.css';

// zod probes for `new Function` at first use; the CSP forbids eval, so tell it not to try (no console CSP report).
z.config({ jitless: true });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
