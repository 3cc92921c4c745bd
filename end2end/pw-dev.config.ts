// Local iteration only: runs the suite against an already running server (E2E_BASE_URL).
import base from './playwright.config';
import { defineConfig } from '@playwright/test';
export default defineConfig({ ...base, webServer: undefined, use: { ...base.use, baseURL: process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3210' } });
