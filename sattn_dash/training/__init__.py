"""sattn_dash.training"""
