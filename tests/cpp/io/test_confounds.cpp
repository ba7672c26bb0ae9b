// confounds.hpp: fMRIPrep TSV/JSON reading, nilearn's strategies, framewise displacement, scrubbing.
// The Python tests compare the same code against nilearn itself; these check closed forms and errors.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "rewire/io/confounds.hpp"
#include "test_support.hpp"

using rewire::ConfoundComponent;
using rewire::ConfoundModel;
using rewire::ConfoundsOptions;
using rewire::test::message_of;
using rewire::test::TempDir;

namespace {

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

std::string number(double v) {
    if (std::isnan(v))
        return "n/a";
    std::ostringstream s;
    s.precision(17);
    s << v;
    return s.str();
}

/// Writes a TSV from named columns (NaN written as n/a).
void write_tsv(const std::string& path, const std::vector<std::string>& names,
               const Eigen::MatrixXd& values) {
    std::ostringstream s;
    for (std::size_t j = 0; j < names.size(); ++j)
        s << (j ? "\t" : "") << names[j];
    s << "\n";
    for (Eigen::Index t = 0; t < values.rows(); ++t) {
        for (Eigen::Index j = 0; j < values.cols(); ++j)
            s << (j ? "\t" : "") << number(values(t, j));
        s << "\n";
    }
    write_text(path, s.str());
}

/// A fake fMRIPrep table: motion (full model), csf/white_matter/global_signal (full), two cosines,
/// framewise_displacement from the motion, std_dvars, a_comp_cor_00..05, t_comp_cor_00..01 and one
/// non-steady-state column flagging frame 0. Derivative columns are n/a at frame 0, as fMRIPrep writes.
struct FakeTable {
    std::vector<std::string> names;
    Eigen::MatrixXd values;

    explicit FakeTable(Eigen::Index frames, unsigned seed = 7) {
        std::mt19937 gen(seed);
        std::normal_distribution<double> normal(0.0, 1.0);
        const double nan = std::numeric_limits<double>::quiet_NaN();
        std::vector<Eigen::VectorXd> cols;
        auto add = [&](const std::string& name, const Eigen::VectorXd& v) {
            names.push_back(name);
            cols.push_back(v);
        };
        auto expand = [&](const std::string& base, const Eigen::VectorXd& x) {
            Eigen::VectorXd d(frames);
            d[0] = nan;
            for (Eigen::Index t = 1; t < frames; ++t)
                d[t] = x[t] - x[t - 1];
            add(base, x);
            add(base + "_derivative1", d);
            add(base + "_power2", x.array().square());
            add(base + "_derivative1_power2", d.array().square());
        };
        Eigen::MatrixXd motion(frames, 6);
        for (int j = 0; j < 6; ++j) {
            double walk = 0.0;
            for (Eigen::Index t = 0; t < frames; ++t) {
                walk += (j < 3 ? 0.02 : 0.0003) * normal(gen);
                motion(t, j) = walk;
            }
        }
        const char* six[] = {"trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"};
        for (int j = 0; j < 6; ++j)
            expand(six[j], motion.col(j));
        for (const char* base : {"csf", "white_matter", "global_signal"}) {
            Eigen::VectorXd x(frames);
            for (Eigen::Index t = 0; t < frames; ++t)
                x[t] = 500.0 + 10.0 * normal(gen);
            expand(base, x);
        }
        for (int k = 0; k < 2; ++k) {
            Eigen::VectorXd c(frames);
            for (Eigen::Index t = 0; t < frames; ++t) {
                c[t] = std::sqrt(2.0 / frames) * std::cos(M_PI * (t + 0.5) * (k + 1) / frames);
            }
            add("cosine0" + std::to_string(k), c);
        }
        add("framewise_displacement", rewire::framewise_displacement(motion));
        Eigen::VectorXd dvars(frames);
        dvars[0] = nan;
        for (Eigen::Index t = 1; t < frames; ++t)
            dvars[t] = 1.0 + 0.1 * normal(gen);
        add("std_dvars", dvars);
        for (int k = 0; k < 6; ++k) {
            Eigen::VectorXd c(frames);
            for (Eigen::Index t = 0; t < frames; ++t)
                c[t] = normal(gen);
            add("a_comp_cor_0" + std::to_string(k), c);
        }
        for (int k = 0; k < 2; ++k) {
            Eigen::VectorXd c(frames);
            for (Eigen::Index t = 0; t < frames; ++t)
                c[t] = normal(gen);
            add("t_comp_cor_0" + std::to_string(k), c);
        }
        Eigen::VectorXd nss = Eigen::VectorXd::Zero(frames);
        nss[0] = 1.0;
        add("non_steady_state_outlier00", nss);
        values.resize(frames, static_cast<Eigen::Index>(cols.size()));
        for (std::size_t j = 0; j < cols.size(); ++j)
            values.col(static_cast<Eigen::Index>(j)) = cols[j];
    }

    Eigen::VectorXd column(const std::string& name) const {
        const auto it = std::find(names.begin(), names.end(), name);
        REQUIRE(it != names.end());
        return values.col(it - names.begin());
    }
    void set(const std::string& name, Eigen::Index t, double v) {
        const auto it = std::find(names.begin(), names.end(), name);
        REQUIRE(it != names.end());
        values(t, it - names.begin()) = v;
    }
    void drop(const std::string& name) {
        const auto it = std::find(names.begin(), names.end(), name);
        REQUIRE(it != names.end());
        const Eigen::Index j = it - names.begin();
        Eigen::MatrixXd kept(values.rows(), values.cols() - 1);
        kept << values.leftCols(j), values.rightCols(values.cols() - j - 1);
        values = kept;
        names.erase(it);
    }
    void write(const std::string& path) const { write_tsv(path, names, values); }
};

// Masks of a_comp_cor_00..05: two combined, two WM, two CSF; t_comp_cor has no mask.
const char* kSidecar = R"({
  "a_comp_cor_00": {"Mask": "combined", "Method": "aCompCor", "Retained": true, "SingularValue": 9.5},
  "a_comp_cor_01": {"Mask": "combined", "Method": "aCompCor", "Retained": true},
  "a_comp_cor_02": {"Mask": "WM", "Method": "aCompCor", "Retained": true, "Nested": {"a": [1, 2.5e-3, null]}},
  "a_comp_cor_03": {"Mask": "WM", "Method": "aCompCor", "Retained": true},
  "a_comp_cor_04": {"Mask": "CSF", "Method": "aCompCor", "Retained": true, "Note": "esc\"aped \u00e9"},
  "a_comp_cor_05": {"Mask": "CSF", "Method": "aCompCor", "Retained": true},
  "dropped_0": {"Mask": "CSF", "Method": "aCompCor", "Retained": false},
  "t_comp_cor_00": {"Method": "tCompCor", "Retained": true},
  "t_comp_cor_01": {"Method": "tCompCor", "Retained": true},
  "cosine00": {"Method": "Discrete cosine", "CutoffPeriod": 128.0}
})";

double max_abs_column_mean(const Eigen::MatrixXd& m, const std::vector<std::int64_t>& rows) {
    double worst = 0.0;
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
        double sum = 0.0;
        for (auto t : rows)
            sum += m(t, j);
        worst = std::max(worst, std::abs(sum / static_cast<double>(rows.size())));
    }
    return worst;
}

}  // namespace

TEST_CASE("confounds TSV: n/a, CRLF, blank lines and non-numeric cells", "[confounds]") {
    TempDir dir;
    const auto path = dir.file("sub-01_desc-confounds_timeseries.tsv");
    write_text(path, "a\tb_x\tlabel\r\n1.5\tn/a\tfoo\r\n+2\t-3e-2\tbar\r\n\r\n  4 \tNaN\t5\r\n");
    const auto table = rewire::read_confounds_table(path);
    REQUIRE(table.names == std::vector<std::string>{"a", "b_x", "label"});
    REQUIRE(table.frames() == 3);
    CHECK(table.values(0, 0) == 1.5);
    CHECK(table.values(1, 0) == 2.0);
    CHECK(table.values(2, 0) == 4.0);
    CHECK(std::isnan(table.values(0, 1)));
    CHECK(table.values(1, 1) == -0.03);
    CHECK(std::isnan(table.values(2, 1)));
    CHECK(table.non_numeric[0].empty());
    CHECK(table.non_numeric[1].empty());
    CHECK_THAT(table.non_numeric[2], Catch::Contains("'foo'") && Catch::Contains("frame 0"));
    CHECK(table.column("label") == 2);
    CHECK(table.column("nope") == -1);
}

TEST_CASE("confounds TSV: bad files name the file and what was expected", "[confounds]") {
    TempDir dir;
    const auto missing = dir.file("absent_desc-confounds_timeseries.tsv");
    CHECK_THAT(message_of<rewire::IoError>([&] { rewire::read_confounds_table(missing); }),
               Catch::Contains(missing) && Catch::Contains("no such file"));

    const auto path = dir.file("bad.tsv");
    write_text(path, "");
    CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::read_confounds_table(path); }),
               Catch::Contains(path) && Catch::Contains("empty"));
    write_text(path, "0.5\t1.0\n0.7\t2.0\n");
    CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::read_confounds_table(path); }),
               Catch::Contains("no header"));
    write_text(path, "transX\ttrans_y\n0.5\t1.0\n");
    CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::read_confounds_table(path); }),
               Catch::Contains("'transX'") && Catch::Contains("camel case"));
    write_text(path, "a\tb\n1\t2\n3\n");
    CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::read_confounds_table(path); }),
               Catch::Contains("line 3") && Catch::Contains("expected 2"));
    write_text(path, "a\ta\n1\t2\n");
    CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::read_confounds_table(path); }),
               Catch::Contains("'a' appears twice"));
    write_text(path, "a\tb\n");
    CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::read_confounds_table(path); }),
               Catch::Contains("no rows"));
}

TEST_CASE("confounds JSON sidecar: keys and their Mask", "[confounds]") {
    TempDir dir;
    const auto path = dir.file("x_desc-confounds_timeseries.json");
    write_text(path, kSidecar);
    const auto meta = rewire::read_confounds_metadata(path);
    REQUIRE(meta.keys.size() == 10);
    REQUIRE(meta.masks.size() == 10);
    REQUIRE(meta.has_mask.size() == 10);
    CHECK(std::is_sorted(meta.keys.begin(), meta.keys.end()));  // a JSON object has no order
    auto at = [&](const std::string& key) {
        const auto it = std::find(meta.keys.begin(), meta.keys.end(), key);
        REQUIRE(it != meta.keys.end());
        return static_cast<std::size_t>(it - meta.keys.begin());
    };
    CHECK(meta.masks[at("a_comp_cor_00")] == "combined");
    CHECK(meta.masks[at("a_comp_cor_02")] == "WM");
    CHECK(meta.masks[at("a_comp_cor_04")] == "CSF");
    CHECK(meta.has_mask[at("dropped_0")]);
    CHECK_FALSE(meta.has_mask[at("t_comp_cor_00")]);
    CHECK_FALSE(meta.has_mask[at("cosine00")]);
    CHECK(meta.masks[at("cosine00")].empty());
    CHECK(rewire::confounds_sidecar("/d/x_desc-confounds_timeseries.tsv") ==
          "/d/x_desc-confounds_timeseries.json");
}

TEST_CASE("confounds JSON sidecar: what Python's json module writes and reads", "[confounds]") {
    TempDir dir;
    const auto path = dir.file("y_desc-confounds_timeseries.json");
    // json.dump writes NaN, Infinity and -Infinity for non-finite floats; a key given twice keeps its
    // last value (json.load); a "Mask" that is not a string does not count; a BOM is skipped.
    write_text(path,
               "\xEF\xBB\xBF{\"a_comp_cor_00\": {\"Mask\": \"CSF\", \"VarianceExplained\": NaN,\n"
               "  \"CumulativeVarianceExplained\": Infinity, \"SingularValue\": -Infinity},\n"
               "  \"a_comp_cor_01\": {\"Mask\": \"WM\"}, \"a_comp_cor_01\": {\"Mask\": \"combined\"},\n"
               "  \"a_comp_cor_02\": {\"Mask\": 3}, \"list\": [1, -2.5e-3, null, true, \"x\"]}");
    const auto meta = rewire::read_confounds_metadata(path);
    CHECK(meta.keys == std::vector<std::string>{"a_comp_cor_00", "a_comp_cor_01", "a_comp_cor_02", "list"});
    CHECK(meta.masks == std::vector<std::string>{"CSF", "combined", "", ""});
    CHECK(meta.has_mask == std::vector<bool>{true, true, false, false});
    CHECK(meta.path == path);
}

TEST_CASE("confounds JSON sidecar: malformed files are named, with the line", "[confounds]") {
    TempDir dir;
    const auto path = dir.file("bad_desc-confounds_timeseries.json");
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"{\"a\": [1, 2,}", "Line 1"},
        {"{\"a\": 1}\n{\"b\": 2}", "Line 2"},      // text after the object
        {"{\n\"a\": 1,\n\"b\": 2,\n}", "Line 4"},  // no trailing comma
        {"{\"a\": nan}", "Line 1"},                // Python writes NaN, never nan
        {"{'a': 1}", "Line 1"},
        {"", "Line 1"},
    };
    for (const auto& [text, where] : bad) {
        write_text(path, text);
        CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::read_confounds_metadata(path); }),
                   Catch::Contains(path) && Catch::Contains("not valid JSON") && Catch::Contains(where));
    }
    for (const char* text : {"[1, 2]", "\"text\"", "3"}) {
        write_text(path, text);
        CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::read_confounds_metadata(path); }),
                   Catch::Contains(path) && Catch::Contains("object at the top level"));
    }
    CHECK_THAT(message_of<rewire::IoError>([&] { rewire::read_confounds_metadata(dir.file("absent.json")); }),
               Catch::Contains("absent.json") && Catch::Contains("no such file"));
}

TEST_CASE("model columns follow nilearn's add_suffix order", "[confounds]") {
    CHECK(rewire::model_columns({"csf", "white_matter"}, ConfoundModel::basic) ==
          std::vector<std::string>{"csf", "white_matter"});
    CHECK(rewire::model_columns({"csf"}, ConfoundModel::full) ==
          std::vector<std::string>{"csf", "csf_derivative1", "csf_power2", "csf_derivative1_power2"});
    CHECK(rewire::model_columns({"a", "b"}, ConfoundModel::derivatives).size() == 4);
}

TEST_CASE("default strategy: sorted columns, first row filled, demeaned over kept frames", "[confounds]") {
    TempDir dir;
    FakeTable fake(40);
    const auto path = dir.file("run_desc-confounds_timeseries.tsv");
    fake.write(path);
    const auto c = rewire::load_confounds(path);  // motion full + high_pass + wm_csf basic
    REQUIRE(c.names.size() == 24 + 2 + 2);
    CHECK(std::is_sorted(c.names.begin(), c.names.end()));
    CHECK(c.names.front() == "cosine00");
    CHECK(c.names.back() == "white_matter");
    CHECK(c.censored);
    CHECK(c.outliers == std::vector<std::string>{"non_steady_state_outlier00"});
    REQUIRE(c.sample_mask.size() == 39);
    CHECK(c.sample_mask.front() == 1);
    CHECK(max_abs_column_mean(c.values, c.sample_mask) < 1e-12);

    // Without demeaning the values are the file's, the first row of a derivative copied from the second.
    ConfoundsOptions raw;
    raw.demean = false;
    const auto r = rewire::load_confounds(path, raw);
    const auto j = std::find(r.names.begin(), r.names.end(), "rot_y_derivative1") - r.names.begin();
    const Eigen::VectorXd file = fake.column("rot_y_derivative1");
    CHECK(r.values(0, j) == file[1]);
    CHECK(r.values(5, j) == file[5]);
    const auto k = std::find(r.names.begin(), r.names.end(), "csf") - r.names.begin();
    CHECK(r.values(0, k) == fake.column("csf")[0]);
}

TEST_CASE("scrubbing censors high-motion frames, framewise displacement computed when absent",
          "[confounds]") {
    TempDir dir;
    FakeTable fake(60);
    fake.drop("framewise_displacement");
    fake.drop("non_steady_state_outlier00");
    // A 0.8 mm jerk at frame 20 and back at frame 21; DVARS spike at frame 40.
    for (const char* name : {"trans_z"}) {
        fake.set(name, 20, fake.column(name)[20] + 0.8);
    }
    fake.set("std_dvars", 40, 3.0);
    const auto path = dir.file("run_desc-confounds_timeseries.tsv");
    fake.write(path);
    ConfoundsOptions o;
    o.strategy = {ConfoundComponent::motion, ConfoundComponent::scrub};
    o.scrub = 0;
    auto c = rewire::load_confounds(path, o);
    REQUIRE(c.censored);
    CHECK(c.outliers == std::vector<std::string>{"motion_outlier_0", "motion_outlier_1", "motion_outlier_2"});
    CHECK(c.sample_mask.size() == 57);
    CHECK(std::find(c.sample_mask.begin(), c.sample_mask.end(), 20) == c.sample_mask.end());
    CHECK(std::find(c.sample_mask.begin(), c.sample_mask.end(), 21) == c.sample_mask.end());
    CHECK(std::find(c.sample_mask.begin(), c.sample_mask.end(), 40) == c.sample_mask.end());
    CHECK(max_abs_column_mean(c.values, c.sample_mask) < 1e-12);

    o.scrub = 5;
    o.fd_threshold = 0.5;
    fake.set("std_dvars", 24, 3.0);  // frames 22, 23 now sit in a 2-frame segment
    fake.write(path);
    c = rewire::load_confounds(path, o);
    CHECK(c.sample_mask.size() == 60 - 6);  // 20..24 and 40

    // A threshold nothing exceeds: outlier columns are absent, so nilearn returns no sample mask.
    o.fd_threshold = 100.0;
    o.std_dvars_threshold = 100.0;
    c = rewire::load_confounds(path, o);
    CHECK_FALSE(c.censored);
    CHECK(c.sample_mask.size() == 60);
}

TEST_CASE("compcor: components by mask from the sidecar, n_compcor per mask", "[confounds]") {
    TempDir dir;
    FakeTable fake(30);
    const auto path = dir.file("run_desc-confounds_timeseries.tsv");
    fake.write(path);
    ConfoundsOptions o;
    o.strategy = {ConfoundComponent::high_pass, ConfoundComponent::compcor};
    CHECK_THAT(message_of<rewire::IoError>([&] { rewire::load_confounds(path, o); }),
               Catch::Contains("run_desc-confounds_timeseries.json") && Catch::Contains("CompCor"));
    write_text(rewire::confounds_sidecar(path), kSidecar);
    auto names = [&](rewire::CompCorType type, std::int64_t n) {
        o.compcor = type;
        o.n_compcor = n;
        return rewire::load_confounds(path, o).names;
    };
    using S = std::vector<std::string>;
    CHECK(names(rewire::CompCorType::anat_combined, -1) ==
          S{"a_comp_cor_00", "a_comp_cor_01", "cosine00", "cosine01"});
    CHECK(names(rewire::CompCorType::anat_separated, 1) ==
          S{"a_comp_cor_02", "a_comp_cor_04", "cosine00", "cosine01"});
    CHECK(names(rewire::CompCorType::temporal, -1) ==
          S{"cosine00", "cosine01", "t_comp_cor_00", "t_comp_cor_01"});
    CHECK(names(rewire::CompCorType::temporal_anat_combined, 1) ==
          S{"a_comp_cor_00", "cosine00", "cosine01", "t_comp_cor_00"});

    o.strategy = {ConfoundComponent::compcor};
    CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::load_confounds(path, o); }),
               Catch::Contains("high_pass must be included"));
}

TEST_CASE("strategies that need absent or bad columns fail with the file and the columns", "[confounds]") {
    TempDir dir;
    FakeTable fake(30);
    fake.drop("rot_z_power2");
    fake.drop("white_matter");
    const auto path = dir.file("run_desc-confounds_timeseries.tsv");
    fake.write(path);
    const auto message = message_of<rewire::InvalidInput>([&] { rewire::load_confounds(path); });
    CHECK_THAT(message, Catch::Contains(path) && Catch::Contains("motion (full): rot_z_power2") &&
                            Catch::Contains("wm_csf (basic): white_matter"));
    ConfoundsOptions basic;
    basic.strategy = {ConfoundComponent::motion, ConfoundComponent::ica_aroma};
    basic.motion = ConfoundModel::basic;
    basic.ica_aroma = rewire::IcaAromaType::basic;
    CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::load_confounds(path, basic); }),
               Catch::Contains("ica_aroma (basic)"));

    FakeTable nan_inside(30);
    nan_inside.set("csf", 12, std::numeric_limits<double>::quiet_NaN());
    nan_inside.write(path);
    CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::load_confounds(path); }),
               Catch::Contains("'csf' is n/a at frame 12"));
    for (const double infinity : {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
        FakeTable inf_inside(30);
        inf_inside.set("trans_x", 5, infinity);
        inf_inside.write(path);
        CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::load_confounds(path); }),
                   Catch::Contains(path) && Catch::Contains(std::string("'trans_x' is ") + (infinity > 0 ? "inf" : "-inf") +
                                                            " at frame 5 (0-based row"));
    }

    // A non-numeric column matters only when a strategy selects it.
    FakeTable good(30);
    good.write(path);
    std::ifstream in(path);
    std::string line;
    std::string text;
    for (bool header = true; std::getline(in, line); header = false)
        text += line + (header ? "\tsite\n" : "\tscannerA\n");
    in.close();
    write_text(path, text);
    CHECK_NOTHROW(rewire::load_confounds(path));
    rewire::ConfoundsTable edited = rewire::read_confounds_table(path);
    CHECK_THAT(edited.non_numeric.back(), Catch::Contains("'scannerA'"));
    edited.non_numeric[static_cast<std::size_t>(edited.column("csf"))] = "frame 3, line 5: 'oops'";
    CHECK_THAT(
        message_of<rewire::InvalidInput>([&] { rewire::select_confounds(edited, {}, ConfoundsOptions{}); }),
        Catch::Contains("'csf' is not numeric") && Catch::Contains("'oops'"));
}

TEST_CASE("a sample mask that removes every frame is an error", "[confounds]") {
    TempDir dir;
    FakeTable fake(12);
    const auto path = dir.file("run_desc-confounds_timeseries.tsv");
    fake.write(path);
    ConfoundsOptions o;
    o.strategy = {ConfoundComponent::motion, ConfoundComponent::scrub};
    o.fd_threshold = 0.0;  // every frame with motion exceeds
    o.std_dvars_threshold = 0.0;
    CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::load_confounds(path, o); }),
               Catch::Contains(path) && Catch::Contains("every one of the 12 frames"));
}

TEST_CASE("names: unknown strategies and models list the valid ones", "[confounds]") {
    CHECK(rewire::parse_confound_component("wm_csf") == ConfoundComponent::wm_csf);
    CHECK_THAT(message_of<rewire::InvalidInput>([] { rewire::parse_confound_component("motions"); }),
               Catch::Contains("'motions'") && Catch::Contains("'high_pass'") && Catch::Contains("'scrub'"));
    CHECK_THAT(message_of<rewire::InvalidInput>([] { rewire::parse_confound_component("tedana"); }),
               Catch::Contains("not supported"));
    CHECK_THAT(message_of<rewire::InvalidInput>([] { rewire::parse_confound_model("quad", "wm_csf"); }),
               Catch::Contains("'wm_csf' must be one of 'basic', 'power2', 'derivatives', 'full'"));
    CHECK(rewire::parse_compcor_type("temporal_anat_separated") ==
          rewire::CompCorType::temporal_anat_separated);
    for (auto m :
         {ConfoundModel::basic, ConfoundModel::power2, ConfoundModel::derivatives, ConfoundModel::full}) {
        CHECK(rewire::parse_confound_model(rewire::to_string(m), "motion") == m);
    }
}

TEST_CASE("presets: nilearn's and XCP-D's models", "[confounds]") {
    std::vector<std::string> names;
    for (const auto& p : rewire::confounds_presets()) {
        names.push_back(p.name);
        CHECK_NOTHROW(p.options.validate());
    }
    CHECK(names == std::vector<std::string>{"simple", "scrubbing", "compcor", "ica_aroma", "24P", "27P",
                                            "36P", "acompcor", "acompcor_gsr"});
    const auto& p36 = rewire::confounds_preset("36P");
    CHECK(p36.options.motion == ConfoundModel::full);
    CHECK(p36.options.wm_csf == ConfoundModel::full);
    CHECK(p36.options.global_signal == ConfoundModel::full);
    CHECK_THAT(message_of<rewire::InvalidInput>([] { rewire::confounds_preset("37P"); }),
               Catch::Contains("'37P'") && Catch::Contains("'acompcor_gsr'"));

    // 36P on a full table gives 36 regressors; 24P 24; 27P 27.
    TempDir dir;
    FakeTable fake(20);
    const auto path = dir.file("run_desc-confounds_timeseries.tsv");
    fake.write(path);
    CHECK(rewire::load_confounds(path, p36.options).names.size() == 36);
    CHECK(rewire::load_confounds(path, rewire::confounds_preset("24P").options).names.size() == 24);
    CHECK(rewire::load_confounds(path, rewire::confounds_preset("27P").options).names.size() == 27);
}

TEST_CASE("the confounds file beside an fMRIPrep image, by nilearn's rules", "[confounds]") {
    TempDir dir;
    const auto bold =
        dir.file("sub-01_ses-pre_task-rest_space-MNI152NLin2009cAsym_res-2_desc-preproc_bold.nii.gz");
    write_text(bold, "");
    CHECK_THAT(message_of<rewire::IoError>([&] { rewire::find_confounds_file(bold); }),
               Catch::Contains(bold) && Catch::Contains("no confounds file"));
    const auto tsv = dir.file("sub-01_ses-pre_task-rest_desc-confounds_timeseries.tsv");
    FakeTable(15).write(tsv);
    CHECK(rewire::find_confounds_file(bold) == tsv);
    CHECK(rewire::load_confounds(bold).source == tsv);
    write_text(dir.file("sub-01_ses-pre_task-rest_desc-confounds_regressors.tsv"), "a\n1\n");
    CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::find_confounds_file(bold); }),
               Catch::Contains("more than one"));
    CHECK_THAT(
        message_of<rewire::InvalidInput>([&] { rewire::find_confounds_file(dir.file("sub-01_bold.nii")); }),
        Catch::Contains("unsupported input"));
    CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::find_confounds_file(bold, true); }),
               Catch::Contains("desc-smoothAROMAnonaggr_bold"));
}

TEST_CASE("confounds_file_beside: the finder's search without the image-name check", "[confounds]") {
    TempDir dir;
    // An uncompressed image: nilearn's name check refuses it, the search (BIDS discovery) finds its file.
    const auto bold = dir.file("sub-02_task-rest_run-3_space-T1w_desc-preproc_bold.nii");
    write_text(bold, "");
    CHECK(rewire::confounds_file_beside(bold).empty());
    const auto tsv = dir.file("sub-02_task-rest_run-3_desc-confounds_timeseries.tsv");
    write_text(dir.file("sub-02_task-rest_run-4_desc-confounds_timeseries.tsv"), "");  // another run
    write_text(tsv, "");
    CHECK(rewire::confounds_file_beside(bold) == tsv);
    CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::find_confounds_file(bold); }),
               Catch::Contains("unsupported input"));
    write_text(dir.file("sub-02_task-rest_desc-confounds_timeseries.tsv"), "");  // a subset matches too
    CHECK_THAT(message_of<rewire::InvalidInput>([&] { rewire::confounds_file_beside(bold); }),
               Catch::Contains(bold) && Catch::Contains("more than one") && Catch::Contains(tsv));
}
