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
#include <cstring>
#include <string>

namespace llama_native {

// Whether mtmd_helper_bitmap_init_from_buf will take these bytes for audio: the magic numbers its
// is_audio_file() looks for (RIFF/WAVE, ID3 or an MPEG frame sync, fLaC). Anything else it decodes as
// a picture, so a medium given as audio must pass this, and one given as a picture must not.
inline bool LooksLikeAudio(const unsigned char* p, size_t n) {
  if (n < 12) return false;
  const bool wav = std::memcmp(p, "RIFF", 4) == 0 && std::memcmp(p + 8, "WAVE", 4) == 0;
  const bool mp3 = std::memcmp(p, "ID3", 3) == 0 || (p[0] == 0xFF && (p[1] & 0xE0) == 0xE0);
  const bool flac = std::memcmp(p, "fLaC", 4) == 0;
  return wav || mp3 || flac;
}

// "" when the bytes may be decoded, else why not (a sentence about `name`).
inline std::string CheckMediaBytes(const unsigned char* data, size_t size, bool audio, int64_t max_pixels, const std::string& name) {
  if (size == 0) return name + " is empty (0 bytes)";
  if (size > static_cast<size_t>(INT_MAX)) return name + " is larger than 2 GiB";
  if (audio) {
    return LooksLikeAudio(data, size) ? "" : name + " is not audio llama.cpp can decode (WAV, MP3, FLAC: no such header)";
  }
  if (LooksLikeAudio(data, size)) return name + " was given as an image but its bytes are audio";
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
