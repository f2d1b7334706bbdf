"""sattn_dash.modeling"""
