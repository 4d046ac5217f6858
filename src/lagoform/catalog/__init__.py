"""lagoform.catalog"""
