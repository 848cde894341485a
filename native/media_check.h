// The checks media bytes pass before llama.cpp's decoders (stb_image, miniaudio, through
// mtmd_helper_bitmap_init_from_buf) see them: not empty, under 2 GiB, and for a picture a header that
// stb_image can read and whose width × height is within the projector's limit, so that a file that
// claims 100k × 100k pixels is refused before anything is allocated. Header-only: native/mtmd.cpp and
// the fuzz harness (fuzz/media_fuzzer.cpp) run the same code. stb_image's functions are the ones
// compiled into mtmd-helper.cpp.
#pragma once

#include <stb/stb_image.h>

#include <climits>
#include <cstdint>
#include <string>

namespace llama_native {

// "" when the bytes may be decoded, else why not (a sentence about `name`).
inline std::string CheckMediaBytes(const unsigned char* data, size_t size, bool audio, int64_t max_pixels, const std::string& name) {
  if (size == 0) return name + " is empty (0 bytes)";
  if (size > static_cast<size_t>(INT_MAX)) return name + " is larger than 2 GiB";
  if (audio) return "";
  int w = 0, h = 0, c = 0;
  if (stbi_info_from_memory(data, static_cast<int>(size), &w, &h, &c) == 0) {
    const char* why = stbi_failure_reason();
    return name + " is not an image llama.cpp can decode (PNG, JPEG, BMP, GIF, TGA, PSD, PNM)" +
           (why != nullptr ? std::string(": ") + why : std::string());
  }
  if (w <= 0 || h <= 0 || static_cast<int64_t>(w) * h > max_pixels) {
    return name + " is " + std::to_string(w) + " x " + std::to_string(h) + " pixels; at most " + std::to_string(max_pixels) +
           " pixels are decoded (the projector's maxPixels option)";
  }
  return "";
}

}  // namespace llama_native
