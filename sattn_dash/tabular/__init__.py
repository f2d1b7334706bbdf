"""sattn_dash.tabular"""
