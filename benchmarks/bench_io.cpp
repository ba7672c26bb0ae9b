// rewire_bench_io — one measured pass over a NIfTI file, reported as one JSON line on stdout.
//
//   rewire_bench_io inflate FILE [--buffer BYTES]   stream FILE through rewire's own reader (ISA-L for
//                                                   .gz, plain reads otherwise) into a buffer, discard it
//   rewire_bench_io zlib FILE [--buffer BYTES]      the same with zlib's gzread (context: why ISA-L)
//   rewire_bench_io extract BOLD ATLAS [--mask M] [--threads N] [--ring R] [--signals OUT]
//                                                   rewire::extract with a hard-label atlas; OUT receives
//                                                   the T × N signals as float64, row-major, no header
//
// Times are wall-clock seconds of the pass itself (steady_clock), without process start-up. Peak
// memory is measured by the caller (extraction.py reads ru_maxrss of this process).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <zlib.h>

#include "io/byte_source.hpp"
#include "rewire/rewire.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

int usage() {
    std::cerr << "usage: rewire_bench_io inflate FILE [--buffer BYTES]\n"
                 "       rewire_bench_io zlib FILE [--buffer BYTES]\n"
                 "       rewire_bench_io extract BOLD ATLAS [--mask M] [--threads N] [--ring R] [--signals OUT]\n";
    return 2;
}

/// Value of `--name VALUE` in args, or `fallback`.
std::string option(const std::vector<std::string>& args, const std::string& name, const std::string& fallback) {
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == name) return args[i + 1];
    }
    return fallback;
}

int inflate_rewire(const std::string& path, std::size_t buffer_bytes) {
    std::vector<unsigned char> buffer(buffer_bytes);
    const auto start = Clock::now();
    auto source = rewire::detail::ByteSource::open(path);
    std::uint64_t total = 0;
    unsigned checksum = 0;  // touch the data so that no pass can be optimised away
    for (;;) {
        const std::size_t got = source->read(buffer.data(), buffer.size());
        total += got;
        if (got > 0) checksum += buffer[got - 1];
        if (got < buffer.size()) break;
    }
    const double elapsed = seconds_since(start);
    std::cout << "{\"verb\": \"inflate\", \"file\": " << json_string(path) << ", \"bytes\": " << total
              << ", \"buffer\": " << buffer_bytes << ", \"seconds\": " << elapsed << ", \"checksum\": " << checksum
              << "}" << std::endl;
    return 0;
}

int inflate_zlib(const std::string& path, std::size_t buffer_bytes) {
    std::vector<unsigned char> buffer(buffer_bytes);
    const auto start = Clock::now();
    gzFile file = gzopen(path.c_str(), "rb");
    if (file == nullptr) {
        std::cerr << path << ": cannot open\n";
        return 1;
    }
    gzbuffer(file, 1u << 20);  // the same 1 MiB input buffer as rewire's reader
    std::uint64_t total = 0;
    unsigned checksum = 0;
    const auto chunk = static_cast<unsigned>(std::min<std::size_t>(buffer_bytes, 1u << 30));
    for (;;) {
        const int got = gzread(file, buffer.data(), chunk);
        if (got < 0) {
            int code = 0;
            std::cerr << path << ": " << gzerror(file, &code) << "\n";
            gzclose(file);
            return 1;
        }
        total += static_cast<std::uint64_t>(got);
        if (got > 0) checksum += buffer[static_cast<std::size_t>(got) - 1];
        if (static_cast<unsigned>(got) < chunk) break;
    }
    gzclose(file);
    const double elapsed = seconds_since(start);
    std::cout << "{\"verb\": \"zlib\", \"file\": " << json_string(path) << ", \"bytes\": " << total
              << ", \"buffer\": " << buffer_bytes << ", \"seconds\": " << elapsed << ", \"checksum\": " << checksum
              << "}" << std::endl;
    return 0;
}

int extract(const std::vector<std::string>& args) {
    const std::string bold = args[1];
    const std::string atlas_path = args[2];
    rewire::ExtractOptions options;
    options.threads = std::atoi(option(args, "--threads", "0").c_str());
    options.ring = std::atoi(option(args, "--ring", "4").c_str());
    const std::string mask = option(args, "--mask", "");
    const std::string signals_path = option(args, "--signals", "");

    const auto start = Clock::now();
    const rewire::Atlas atlas = rewire::Atlas::from_labels(atlas_path);
    const double atlas_seconds = seconds_since(start);
    const rewire::Extraction result = rewire::extract(bold, atlas, mask, options);
    const double elapsed = seconds_since(start);

    if (!signals_path.empty()) {
        const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = result.signals;
        std::ofstream out(signals_path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(rows.data()), static_cast<std::streamsize>(rows.size() * sizeof(double)));
        if (!out) {
            std::cerr << signals_path << ": cannot write\n";
            return 1;
        }
    }
    std::cout << "{\"verb\": \"extract\", \"file\": " << json_string(bold) << ", \"atlas\": " << json_string(atlas_path)
              << ", \"T\": " << result.signals.rows() << ", \"N\": " << result.signals.cols()
              << ", \"threads\": " << rewire::resolve_threads(options.threads, 1) << ", \"ring\": " << options.ring
              << ", \"atlas_seconds\": " << atlas_seconds << ", \"seconds\": " << elapsed << "}" << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) return usage();
    try {
        if ((args[0] == "inflate" || args[0] == "zlib") && args.size() >= 2) {
            const auto buffer = static_cast<std::size_t>(std::atoll(option(args, "--buffer", "262144").c_str()));
            if (buffer == 0) return usage();
            return args[0] == "inflate" ? inflate_rewire(args[1], buffer) : inflate_zlib(args[1], buffer);
        }
        if (args[0] == "extract" && args.size() >= 3) {
            return extract(args);
        }
    } catch (const std::exception& e) {
        std::cerr << "rewire_bench_io: " << e.what() << "\n";
        return 1;
    }
    return usage();
}
