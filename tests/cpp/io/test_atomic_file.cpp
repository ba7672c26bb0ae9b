// atomic_file.hpp: a file appears whole or not at all; a failure midway leaves the folder as it was.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "rewire/core/error.hpp"
#include "rewire/io/atomic_file.hpp"
#include "test_support.hpp"

using rewire::AtomicFile;
using rewire::IoError;
using rewire::test::message_of;
using rewire::test::TempDir;

namespace {

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

/// Names of the entries of `folder`.
std::set<std::string> entries(const std::string& folder) {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(folder))
        names.insert(entry.path().filename().string());
    return names;
}

std::string folder_of(const TempDir& dir) {
    return std::filesystem::path(dir.file("x")).parent_path().string();
}

}  // namespace

TEST_CASE("write_atomically puts the whole file in place and nothing else", "[atomic_file]") {
    TempDir dir;
    const std::string target = dir.file("result.h5");
    std::string seen;
    rewire::write_atomically(target, [&](const std::string& temporary) {
        seen = temporary;
        CHECK(std::filesystem::path(temporary).parent_path() == std::filesystem::path(target).parent_path());
        CHECK_FALSE(std::filesystem::exists(target));  // not visible until complete
        write(temporary, "complete contents");
    });
    CHECK(read(target) == "complete contents");
    CHECK(entries(folder_of(dir)) == std::set<std::string>{"result.h5"});
    CHECK(seen.rfind(target + ".", 0) == 0);
    CHECK(seen.size() > 5);
    CHECK(seen.compare(seen.size() - 5, 5, ".part") == 0);

    // Replacing an existing file.
    rewire::write_atomically(target, [&](const std::string& temporary) { write(temporary, "second"); });
    CHECK(read(target) == "second");
    CHECK(entries(folder_of(dir)) == std::set<std::string>{"result.h5"});
}

TEST_CASE("a failure midway leaves neither the temporary nor a half-written target", "[atomic_file]") {
    TempDir dir;
    const std::string target = dir.file("edges.h5");
    auto half_then_fail = [](const std::string& temporary) {
        write(temporary, "half of the");
        throw IoError("disk full (simulated)");
    };
    // No target before: none after, and no temporary.
    CHECK(message_of<IoError>([&] { rewire::write_atomically(target, half_then_fail); }) ==
          "disk full (simulated)");
    CHECK(entries(folder_of(dir)).empty());
    // An existing target is untouched.
    write(target, "previous results");
    CHECK(message_of<IoError>([&] { rewire::write_atomically(target, half_then_fail); }) ==
          "disk full (simulated)");
    CHECK(read(target) == "previous results");
    CHECK(entries(folder_of(dir)) == std::set<std::string>{"edges.h5"});
    // Any exception type passes through unchanged.
    CHECK_THROWS_AS(rewire::write_atomically(target, [](const std::string&) { throw std::bad_alloc(); }),
                    std::bad_alloc);
    CHECK(entries(folder_of(dir)) == std::set<std::string>{"edges.h5"});
}

TEST_CASE("AtomicFile: unique temporaries, removed unless committed", "[atomic_file]") {
    TempDir dir;
    const std::string target = dir.file("image.nii.gz");
    write(target, "old");
    {
        AtomicFile first(target);
        AtomicFile second(target);
        CHECK(first.temporary() != second.temporary());
        CHECK(std::filesystem::exists(first.temporary()));
        CHECK(std::filesystem::file_size(first.temporary()) == 0);
        write(first.temporary(), "abandoned");
        write(second.temporary(), "new");
        second.commit();
        CHECK(second.temporary().empty());
        CHECK_THROWS_AS(second.commit(), IoError);  // once only
        CHECK(read(target) == "new");
    }  // `first` abandoned
    CHECK(read(target) == "new");
    CHECK(entries(folder_of(dir)) == std::set<std::string>{"image.nii.gz"});
}

TEST_CASE("AtomicFile: a new file gets the permissions of any new file", "[atomic_file]") {
    TempDir dir;
    write(dir.file("plain"), "x");  // created by the C++ library with the process umask
    rewire::write_atomically(dir.file("atomic"), [](const std::string& temporary) { write(temporary, "x"); });
    struct stat plain {};
    struct stat atomic {};
    REQUIRE(::stat(dir.file("plain").c_str(), &plain) == 0);
    REQUIRE(::stat(dir.file("atomic").c_str(), &atomic) == 0);
    CHECK((plain.st_mode & 07777) == (atomic.st_mode & 07777));
}

TEST_CASE("AtomicFile: errors name the target and leave nothing behind", "[atomic_file]") {
    TempDir dir;
    const std::string missing_folder = dir.file("no/such/folder/out.h5");
    CHECK_THAT(message_of<IoError>([&] { AtomicFile file(missing_folder); }),
               Catch::Contains(missing_folder) && Catch::Contains("temporary"));
    // The rename fails (a folder is in the way): IoError, the folder untouched, the temporary removed.
    const std::string blocked = dir.file("blocked");
    std::filesystem::create_directory(blocked);
    write(blocked + "/inside", "kept");
    CHECK_THAT(message_of<IoError>([&] {
                   rewire::write_atomically(blocked,
                                            [](const std::string& temporary) { write(temporary, "x"); });
               }),
               Catch::Contains(blocked) && Catch::Contains("into place"));
    CHECK(entries(folder_of(dir)) == std::set<std::string>{"blocked"});
    CHECK(read(blocked + "/inside") == "kept");
}
