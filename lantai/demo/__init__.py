"""Synthetic 公文 of the fictional 青禾区 for demos, tests and benchmarks (issue 6).

Entry point: :func:`lantai.demo.generate.generate` (CLI ``lantai demo generate``).

plan (who issues what, 发文字号) → layout (GB/T 9704 geometry into page objects) → pdf/pdfa
(PDF/A-2b) and ofd/ofd_sign/ses/pki (sealed OFD) → attachments, draft (定稿 DOCX), handling
(公文处理单) → record (DA/T 46 + 过程信息) → item (SIP directory) → defects → generate (pool,
归档登记表, defects.csv).
"""
