// nilearn's names of the confounds enums, both ways.
#include "internal.hpp"

namespace rewire {

const char* to_string(ConfoundComponent component) {
    switch (component) {
        case ConfoundComponent::motion:
            return "motion";
        case ConfoundComponent::high_pass:
            return "high_pass";
        case ConfoundComponent::wm_csf:
            return "wm_csf";
        case ConfoundComponent::global_signal:
            return "global_signal";
        case ConfoundComponent::compcor:
            return "compcor";
        case ConfoundComponent::ica_aroma:
            return "ica_aroma";
        case ConfoundComponent::scrub:
            return "scrub";
        case ConfoundComponent::non_steady_state:
            return "non_steady_state";
    }
    return "?";
}

const char* to_string(ConfoundModel model) {
    switch (model) {
        case ConfoundModel::basic:
            return "basic";
        case ConfoundModel::power2:
            return "power2";
        case ConfoundModel::derivatives:
            return "derivatives";
        case ConfoundModel::full:
            return "full";
    }
    return "?";
}

const char* to_string(CompCorType type) {
    switch (type) {
        case CompCorType::anat_combined:
            return "anat_combined";
        case CompCorType::anat_separated:
            return "anat_separated";
        case CompCorType::temporal:
            return "temporal";
        case CompCorType::temporal_anat_combined:
            return "temporal_anat_combined";
        case CompCorType::temporal_anat_separated:
            return "temporal_anat_separated";
    }
    return "?";
}

const char* to_string(IcaAromaType type) {
    return type == IcaAromaType::full ? "full" : "basic";
}

namespace {
template <typename E>
E parse_name(const std::string& name, const std::vector<E>& values, const std::string& parameter) {
    std::vector<std::string> names;
    for (const E v : values) {
        if (name == to_string(v))
            return v;
        names.push_back(std::string("'") + to_string(v) + "'");
    }
    throw InvalidInput("confounds: '" + parameter + "' must be one of " +
                       confounds_detail::join(names, ", ") + "; got '" + name + "'");
}
}  // namespace

ConfoundComponent parse_confound_component(const std::string& name) {
    using C = ConfoundComponent;
    if (name == "tedana") {
        throw InvalidInput(
            "confounds: the 'tedana' strategy is not supported by rewire (it reads tedana's ICA "
            "mixing files, not fMRIPrep confounds); valid strategies are 'motion', 'high_pass', "
            "'wm_csf', 'global_signal', 'compcor', 'ica_aroma', 'scrub', 'non_steady_state'");
    }
    return parse_name<C>(name,
                         {C::motion, C::high_pass, C::wm_csf, C::global_signal, C::compcor, C::ica_aroma,
                          C::scrub, C::non_steady_state},
                         "strategy");
}

ConfoundModel parse_confound_model(const std::string& name, const std::string& parameter) {
    using M = ConfoundModel;
    return parse_name<M>(name, {M::basic, M::power2, M::derivatives, M::full}, parameter);
}

CompCorType parse_compcor_type(const std::string& name) {
    using T = CompCorType;
    return parse_name<T>(name,
                         {T::anat_combined, T::anat_separated, T::temporal, T::temporal_anat_combined,
                          T::temporal_anat_separated},
                         "compcor");
}

IcaAromaType parse_ica_aroma_type(const std::string& name) {
    return parse_name<IcaAromaType>(name, {IcaAromaType::full, IcaAromaType::basic}, "ica_aroma");
}

}  // namespace rewire
