"""sattn_dash.charts"""
