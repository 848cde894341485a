import { binding, type NativeSystemInfo } from "./binding";

/** What the loaded addon was built with and sees: backend, devices, CPU features. */
export function systemInfo(): NativeSystemInfo {
  return binding().systemInfo();
}
