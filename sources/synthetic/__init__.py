"""The synthetic partnership: a simulated truth and the extracts it would produce.

Two fictional local authorities (Northbrook, LEA 991, about 60,000 children;
Eastmere, LEA 992, about 45,000), twelve quarters of extracts in the real formats
(CIN census XML, Annex A list 7, early help, adult services, person list, ONS
population) with realistic defects, and a ``truth/`` folder to score estimates
against. Entry point: ``generate.generate_partnership``; parameters: ``config``.
"""
