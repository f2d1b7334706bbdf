"""sattn_dash.ui"""
