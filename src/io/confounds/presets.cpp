// The named denoising strategies: nilearn's load_confounds_strategy presets and XCP-D's nuisance models
// (documented on confounds_presets() in confounds.hpp).
#include "internal.hpp"

namespace rewire {

const std::vector<ConfoundsPreset>& confounds_presets() {
    using C = ConfoundComponent;
    static const std::vector<ConfoundsPreset> presets = [] {
        std::vector<ConfoundsPreset> list;
        auto add = [&](std::string name, std::string description, std::vector<C> strategy,
                       std::vector<std::string> tunable, auto&& configure) {
            ConfoundsPreset p;
            p.name = std::move(name);
            p.description = std::move(description);
            p.options.strategy = std::move(strategy);
            configure(p.options);
            p.tunable = std::move(tunable);
            list.push_back(std::move(p));
        };
        add("simple", "high-pass, 24 motion parameters and mean WM/CSF signals (Fox et al. 2005)",
            {C::high_pass, C::motion, C::wm_csf}, {"motion", "wm_csf", "global_signal", "demean"},
            [](ConfoundsOptions& o) {
                o.motion = ConfoundModel::full;
                o.wm_csf = ConfoundModel::basic;
            });
        add("scrubbing",
            "high-pass, 24 motion parameters, 8 WM/CSF terms and scrubbing (Power et al. 2012, 2014)",
            {C::high_pass, C::motion, C::wm_csf, C::scrub},
            {"motion", "wm_csf", "scrub", "fd_threshold", "std_dvars_threshold", "global_signal", "demean"},
            [](ConfoundsOptions& o) {
                o.motion = ConfoundModel::full;
                o.wm_csf = ConfoundModel::full;
                o.scrub = 5;
                o.fd_threshold = 0.5;
                o.std_dvars_threshold = 1.5;
            });
        add("compcor", "high-pass, 24 motion parameters and anatomical CompCor (Behzadi et al. 2007)",
            {C::high_pass, C::motion, C::compcor},
            {"motion", "n_compcor", "compcor", "global_signal", "demean"}, [](ConfoundsOptions& o) {
                o.motion = ConfoundModel::full;
                o.n_compcor = -1;
                o.compcor = CompCorType::anat_combined;
            });
        add("ica_aroma",
            "high-pass and mean WM/CSF signals on the ICA-AROMA denoised image (Pruim et al. 2015)",
            {C::high_pass, C::wm_csf, C::ica_aroma}, {"wm_csf", "global_signal", "demean"},
            [](ConfoundsOptions& o) {
                o.wm_csf = ConfoundModel::basic;
                o.ica_aroma = IcaAromaType::full;
            });
        add("24P",
            "XCP-D 24P: 6 motion parameters, derivatives and squares of both (Satterthwaite et al. 2013)",
            {C::motion}, {"demean"}, [](ConfoundsOptions& o) { o.motion = ConfoundModel::full; });
        add("27P", "XCP-D 27P: 24P + mean WM, CSF and global signals (Ciric et al. 2017)",
            {C::motion, C::wm_csf, C::global_signal}, {"demean"}, [](ConfoundsOptions& o) {
                o.motion = ConfoundModel::full;
                o.wm_csf = ConfoundModel::basic;
                o.global_signal = ConfoundModel::basic;
            });
        add("36P",
            "XCP-D 36P: 24P + WM, CSF and global signals with derivatives and squares (Satterthwaite et "
            "al. 2013; Ciric et al. 2017)",
            {C::motion, C::wm_csf, C::global_signal}, {"demean"}, [](ConfoundsOptions& o) {
                o.motion = ConfoundModel::full;
                o.wm_csf = ConfoundModel::full;
                o.global_signal = ConfoundModel::full;
            });
        add("acompcor",
            "XCP-D acompcor: 6 motion parameters + derivatives, top 5 WM and 5 CSF aCompCor "
            "components, cosines (Behzadi et al. 2007; Muschelli et al. 2014)",
            {C::high_pass, C::motion, C::compcor}, {"demean"}, [](ConfoundsOptions& o) {
                o.motion = ConfoundModel::derivatives;
                o.compcor = CompCorType::anat_separated;
                o.n_compcor = 5;
            });
        add("acompcor_gsr", "XCP-D acompcor_gsr: acompcor + mean WM, CSF and global signals",
            {C::high_pass, C::motion, C::compcor, C::wm_csf, C::global_signal}, {"demean"},
            [](ConfoundsOptions& o) {
                o.motion = ConfoundModel::derivatives;
                o.compcor = CompCorType::anat_separated;
                o.n_compcor = 5;
                o.wm_csf = ConfoundModel::basic;
                o.global_signal = ConfoundModel::basic;
            });
        return list;
    }();
    return presets;
}

const ConfoundsPreset& confounds_preset(const std::string& name) {
    std::vector<std::string> names;
    for (const auto& p : confounds_presets()) {
        if (p.name == name)
            return p;
        names.push_back("'" + p.name + "'");
    }
    throw InvalidInput("confounds: unknown denoising strategy '" + name + "'; valid presets are " +
                       confounds_detail::join(names, ", "));
}

}  // namespace rewire
