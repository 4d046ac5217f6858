"""lagoform.pricing"""
