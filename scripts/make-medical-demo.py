#!/usr/bin/python3
"""Generates a small medical-style demo set: DICOM radiographs in a class folder and a
ChestX-ray14-style manifest with patient IDs (several images per patient).

Usage: /usr/bin/python3 scripts/make-medical-demo.py OUT_DIR [PATIENTS]
Needs Debian's python3-pydicom and python3-numpy (apt-get install -y python3-pydicom python3-numpy).

OUT_DIR/dicom/<normal|effusion>/*.dcm   12-bit images, half MONOCHROME1 (inverted), rescale and a
                                          window in the file, implicit and explicit VR
OUT_DIR/images/*.dcm + OUT_DIR/Data_Entry.csv
                                          the ChestX-ray14 layout: 'Image Index', 'Finding Labels'
                                          ('|'-separated, 'No Finding'), 'Patient ID', and its
                                          unquoted 'OriginalImage[Width,Height]' header
"""
import os
import sys
import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ImplicitVRLittleEndian, ExplicitVRLittleEndian, generate_uid

SIDE = 48


def radiograph(rng, findings):
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    img = 900 + 300 * np.exp(-((x - SIDE / 2) ** 2) / (2 * (SIDE / 5) ** 2))  # mediastinum
    img = img + rng.normal(0, 60, (SIDE, SIDE))
    if "Nodule" in findings:
        cy, cx = rng.integers(10, SIDE - 10, size=2)
        img[(y - cy) ** 2 + (x - cx) ** 2 < 16] += 1500
    if "Effusion" in findings:
        img[int(SIDE * 0.75):, :] += 1800
    return np.clip(img, 0, 4095).astype(np.uint16)


def write(path, pixels, patient, k):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian if k % 2 else ImplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = True
    ds.is_implicit_VR = not k % 2
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.Modality = patient, "DX"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = SIDE, SIDE, 1
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = "1", "0"
    ds.WindowCenter, ds.WindowWidth = "1800", "3600"
    if k % 3 == 0:
        # some sites store radiographs inverted (MONOCHROME1): the reader turns them back
        ds.PhotometricInterpretation = "MONOCHROME1"
        pixels = (4095 - pixels).astype(np.uint16)
        ds.WindowCenter = str(4095 - 1800)  # the window is on the stored (inverted) values
    else:
        ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, write_like_original=False)


def main():
    out = sys.argv[1]
    patients = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    rng = np.random.default_rng(13)
    for c in ("normal", "effusion"):
        os.makedirs(os.path.join(out, "dicom", c), exist_ok=True)
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    k = 0
    rows = []
    for p in range(patients):
        findings = [["No Finding"], ["Nodule"], ["Effusion"], ["Effusion", "Nodule"]][p % 4]
        for f in range(1 + p % 4):
            k += 1
            name = "%08d_%03d.dcm" % (p + 1, f)
            write(os.path.join(out, "images", name), radiograph(rng, findings), "%05d" % (p + 1), k)
            rows.append('%s,%s,%d,%05d,%d,%s,PA,%d,%d,0.143,0.143,' % (
                name, "|".join(findings), f, p + 1, 30 + p % 50, "MF"[p % 2], SIDE, SIDE))
            cls = "effusion" if "Effusion" in findings else "normal"
            write(os.path.join(out, "dicom", cls, name), radiograph(rng, findings), "%05d" % (p + 1), k + 1)
    with open(os.path.join(out, "Data_Entry.csv"), "w") as fh:
        fh.write("Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
                 "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],\n")
        fh.write("\n".join(rows) + "\n")
    print("wrote %d images of %d patients to %s" % (k, patients, out))


if __name__ == "__main__":
    main()
