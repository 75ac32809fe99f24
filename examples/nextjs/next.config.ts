import type { NextConfig } from 'next';

const config: NextConfig = {
  // This folder is the app's root even inside tokenwire's repository, whose own lockfile
  // would otherwise be taken for the workspace root.
  turbopack: { root: __dirname },
};

export default config;
