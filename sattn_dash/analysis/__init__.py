"""sattn_dash.analysis"""
