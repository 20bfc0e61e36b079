"""Dashboards for the partnership board (Plotly, with disclosure control applied).

Empty for now: dashboards arrive once there are marts to show.
"""
