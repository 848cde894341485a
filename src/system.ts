import { binding, loadedBinary, type NativeSystemInfo } from "./binding";

export interface SystemInfo extends NativeSystemInfo {
  /** the .node file that was loaded */
  binary: string;
  /** candidates the loader passed over before it, with the reason */
  skipped: { file: string; reason: string }[];
}

/** What the loaded addon was built with and sees: backend, devices, CPU features, which binary. */
export function systemInfo(): SystemInfo {
  const { file, skipped } = loadedBinary();
  return { ...binding().systemInfo(), binary: file, skipped };
}
