"""
Provision the result database: Celery's tables, and a worker role confined to them.

See :func:`provision_result_db`; the implementation lives in
:mod:`cadasta.workertoolbox.resultdb`.
"""

from __future__ import annotations

from .resultdb._provision import SEQUENCE_PRIVILEGES as SEQUENCE_PRIVILEGES
from .resultdb._provision import TABLE_PRIVILEGES as TABLE_PRIVILEGES
from .resultdb._provision import ProvisionReport, grant_statements, provision_result_db

__all__ = ["ProvisionReport", "grant_statements", "provision_result_db"]
