"""The synthetic partnership's published comparators (sources/synthetic/writers/published.py): read back
through the registered readers, consistent with the partnership's own figures, neighbours around it."""
from __future__ import annotations

from sources.registry import load_registry


def _read(folder, name, file):
    return load_registry()[name].read(folder / "incoming" / "reference" / file)


def test_published_files_read_back_and_match_the_partnerships_cp_rate(partnership):
    folder, summary = partnership
    d5 = _read(folder, "published_cp_duration", "d5_cpps_at31march_by_duration_synthetic.csv")
    assert len(d5.rejects) == 0
    rows = d5.rows
    last = int(summary["quarter_end"][:4])  # the last quarter end is a 31 March
    own = rows[(rows["time_period"] == last) & rows["la_code"].isin(["991", "992"])]
    assert len(own) == 2
    rate = own["denominator"].sum() / summary["children_0_17"] * 1e4
    published = {int(year): r for year, r in summary["cp_rate_per_10k_at_31_march"].items()}
    assert abs(rate - published[last]) < 0.5
    assert set(rows["geographic_level"]) == {"National", "Regional", "Local authority"}
    for name, file in (("published_cin_factors", "c3_factors_identified_at_end_of_assessment_synthetic.csv"),
                       ("published_cp_subsequent", "d3_cpps_subsequent_plan_synthetic.csv"),
                       ("published_rereferrals", "c1_children_in_need_referrals_and_rereferrals_synthetic.csv")):
        read = _read(folder, name, file)
        assert len(read.rejects) == 0 and read.rows["la_code"].nunique() == 22  # 2 authorities, 20 neighbours


def test_each_authority_has_ten_invented_neighbours_with_figures_around_its_own(partnership):
    folder, _ = partnership
    neighbours = _read(folder, "statistical_neighbours", "statistical_neighbours_synthetic.csv").rows
    assert neighbours.groupby("la_code").size().to_dict() == {"991": 10, "992": 10}
    c3 = _read(folder, "published_cin_factors", "c3_factors_identified_at_end_of_assessment_synthetic.csv").rows
    latest = c3[c3["time_period"] == c3["time_period"].max()].set_index("la_code")
    for la in ("991", "992"):
        codes = neighbours.loc[neighbours["la_code"] == la, "neighbour_la_code"]
        assert codes.isin(latest.index).all()
        share = latest["numerator"] / latest["denominator"]
        near = share[codes]
        assert near.min() < share[la] * 1.5 and near.max() > share[la] / 1.5


def test_the_population_by_authority_is_the_partnerships_own_and_its_neighbours(partnership):
    """The synthetic ONS estimates of children aged 0-17 per authority (the EES layout): each authority's own
    children on 30 June (the same total as the ward files), its neighbours scaled with their size, England and the
    region their exact sum; one mid-year before each census year, as DfE divides by."""
    folder, summary = partnership
    population = _read(folder, "published_population", "ons_mid-year_population_estimates_synthetic.csv")
    assert len(population.rejects) == 0
    rows = population.rows
    c3 = _read(folder, "published_cin_factors", "c3_factors_identified_at_end_of_assessment_synthetic.csv").rows
    assert set(rows["time_period"]) == {int(y) - 1 for y in c3["time_period"].unique()}
    by_year = {int(y): n for y, n in summary["population_0_17_by_mid_year"].items()}
    for year, part in rows.groupby("time_period"):
        own = part[part["la_code"].isin(["991", "992"])]["population"].sum()
        assert own == by_year[int(year)], year
        las = part[part["geographic_level"] == "Local authority"]
        assert las["la_code"].nunique() == 22
        assert (part.loc[part["geographic_level"] == "National", "population"] == las["population"].sum()).all()
