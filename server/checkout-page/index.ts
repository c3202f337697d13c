/**
 * The hosted checkout page (issue 13): one public page per payment order at `/pay/<token>`.
 * Mount: `app.use('/pay', createCheckoutPageRouter({ ctx, publicUrl }))`. See README.md.
 */
export { CHECKOUT_PAGE_CSP, type CheckoutPageDeps, createCheckoutPageRouter } from './router.js';
export { escapeHtml, formatFen, formatPeriod } from './format.js';
export { type Language, negotiateLanguage } from './messages.js';
export { type PayerState, payerState } from '../../core/payments/hosted-checkout.js';
