// The landing page: only the Bootstrap fallback check.
import { markMissingBootstrap } from './dom.js';

markMissingBootstrap();
