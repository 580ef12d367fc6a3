"""The transfer (移交) package of the 2012 layout, its 移交登记表 and the receiver's signed receipt.

Public API::

    write_carrier(target, items, register, description, signer_certs) -> Manifest   (writer)
    read_carrier(path) -> Carrier                                                    (reader)
    check_carrier(carrier) -> list[Finding]            structure, catalogue, register, manifest
    TransferRegister / read_register / write_register                               (register)
    Receipt / ReceiptItem / write_receipt / read_receipt                            (receipt)
"""

from lantai.packages.transfer.reader import Carrier, CarrierItem, check_carrier, read_carrier
from lantai.packages.transfer.receipt import Receipt, ReceiptItem, read_receipt, write_receipt
from lantai.packages.transfer.register import TransferRegister, read_register, write_register
from lantai.packages.transfer.writer import ExportedItem, write_carrier

__all__ = [
    "Carrier",
    "CarrierItem",
    "ExportedItem",
    "Receipt",
    "ReceiptItem",
    "TransferRegister",
    "check_carrier",
    "read_carrier",
    "read_receipt",
    "read_register",
    "write_carrier",
    "write_receipt",
    "write_register",
]
