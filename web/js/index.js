// The landing page: only the Bootstrap fallback check.
import { markMissingBootstrap } from './dom.js';
import { localize } from './i18n.js';

markMissingBootstrap();
localize();
