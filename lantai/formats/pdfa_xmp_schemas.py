"""The XMP schemas PDF/A predefines, as data: property → value type, and the structured types' fields.

ISO 19005-1 (6.7.2) accepts the schemas of the XMP Specification 2004; ISO 19005-2/-3 (6.6.2.3.1)
those of XMP 2005, which adds a few properties (xmp:Label, xmp:Rating, photoshop:ColorMode, the
whole DynamicMedia schema, …). A property in a predefined namespace that the schema does not
define, or a value that does not have the property's type, breaks the rule; any other namespace
must be described by a PDF/A extension schema (``pdfa_xmp_ext``).

Types are written as XMP does: ``Text``, ``Integer``, ``Bag ProperName``, ``Lang Alt``, or the name
of a structure from ``STRUCTS``. Closed choices are reduced to their base type.
"""

from __future__ import annotations

NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "xmpBJ": "http://ns.adobe.com/xap/1.0/bj/",
    "xmpTPg": "http://ns.adobe.com/xap/1.0/t/pg/",
    "xmpDM": "http://ns.adobe.com/xmp/1.0/DynamicMedia/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "crs": "http://ns.adobe.com/camera-raw-settings/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "aux": "http://ns.adobe.com/exif/1.0/aux/",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "pdfuaid": "http://www.aiim.org/pdfua/ns/id/",
    "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/",
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
    "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#",
    "pdfaType": "http://www.aiim.org/pdfa/ns/type#",
    "pdfaField": "http://www.aiim.org/pdfa/ns/field#",
    "xmpidq": "http://ns.adobe.com/xmp/Identifier/qual/1.0/",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "stFnt": "http://ns.adobe.com/xap/1.0/sType/Font#",
    "xmpG": "http://ns.adobe.com/xap/1.0/g/",
    "xmpGImg": "http://ns.adobe.com/xap/1.0/g/img/",
    "stEvt": "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#",
    "stRef": "http://ns.adobe.com/xap/1.0/sType/ResourceRef#",
    "stVer": "http://ns.adobe.com/xap/1.0/sType/Version#",
    "stJob": "http://ns.adobe.com/xap/1.0/sType/Job#",
}

# Schemas common to XMP 2004 and 2005: "name:Type" separated by spaces; a type of several words
# (``Bag ProperName``) is joined with '+'.
_COMMON = {
    "dc": "contributor:Bag+ProperName coverage:Text creator:Seq+ProperName date:Seq+Date description:Lang+Alt "
          "format:MIMEType identifier:Text language:Bag+Locale publisher:Bag+ProperName relation:Bag+Text "
          "rights:Lang+Alt source:Text subject:Bag+Text title:Lang+Alt type:Bag+Text",
    "xmp": "Advisory:Bag+XPath BaseURL:URL CreateDate:Date CreatorTool:AgentName Identifier:Bag+Text "
           "MetadataDate:Date ModifyDate:Date Nickname:Text Thumbnails:Alt+Thumbnail",
    "xmpRights": "Certificate:URL Marked:Boolean Owner:Bag+ProperName UsageTerms:Lang+Alt WebStatement:URL",
    "xmpMM": "DerivedFrom:ResourceRef DocumentID:URI History:Seq+ResourceEvent ManagedFrom:ResourceRef "
             "Manager:AgentName ManageTo:URI ManageUI:URI ManagerVariant:Text RenditionClass:RenditionClass "
             "RenditionParams:Text VersionID:Text Versions:Seq+Version LastURL:URL RenditionOf:ResourceRef "
             "SaveID:Integer InstanceID:URI",
    "xmpBJ": "JobRef:Bag+Job",
    "xmpTPg": "MaxPageSize:Dimensions NPages:Integer",
    "pdf": "Keywords:Text PDFVersion:Text Producer:AgentName",
    "photoshop": "AuthorsPosition:Text CaptionWriter:ProperName Category:Text City:Text Country:Text Credit:Text "
                 "DateCreated:Date Headline:Text Instructions:Text Source:Text State:Text "
                 "SupplementalCategories:Bag+Text TransmissionReference:Text Urgency:Integer",
    "tiff": "ImageWidth:Integer ImageLength:Integer BitsPerSample:Seq+Integer Compression:Integer "
            "PhotometricInterpretation:Integer Orientation:Integer SamplesPerPixel:Integer "
            "PlanarConfiguration:Integer YCbCrSubSampling:Seq+Integer YCbCrPositioning:Integer "
            "XResolution:Rational YResolution:Rational ResolutionUnit:Integer TransferFunction:Seq+Integer "
            "WhitePoint:Seq+Rational PrimaryChromaticities:Seq+Rational YCbCrCoefficients:Seq+Rational "
            "ReferenceBlackWhite:Seq+Rational DateTime:Date ImageDescription:Lang+Alt Make:ProperName "
            "Model:ProperName Software:AgentName Artist:ProperName Copyright:Lang+Alt",
    "exif": "ExifVersion:Text FlashpixVersion:Text ColorSpace:Integer ComponentsConfiguration:Seq+Integer "
            "CompressedBitsPerPixel:Rational PixelXDimension:Integer PixelYDimension:Integer "
            "UserComment:Lang+Alt RelatedSoundFile:Text DateTimeOriginal:Date DateTimeDigitized:Date "
            "ExposureTime:Rational FNumber:Rational ExposureProgram:Integer SpectralSensitivity:Text "
            "ISOSpeedRatings:Seq+Integer OECF:OECF ShutterSpeedValue:Rational ApertureValue:Rational "
            "BrightnessValue:Rational ExposureBiasValue:Rational MaxApertureValue:Rational "
            "SubjectDistance:Rational MeteringMode:Integer LightSource:Integer Flash:Flash FocalLength:Rational "
            "SubjectArea:Seq+Integer FlashEnergy:Rational SpatialFrequencyResponse:OECF "
            "FocalPlaneXResolution:Rational FocalPlaneYResolution:Rational FocalPlaneResolutionUnit:Integer "
            "SubjectLocation:Seq+Integer ExposureIndex:Rational SensingMethod:Integer FileSource:Integer "
            "SceneType:Integer CFAPattern:CFAPattern CustomRendered:Integer ExposureMode:Integer "
            "WhiteBalance:Integer DigitalZoomRatio:Rational FocalLengthIn35mmFilm:Integer "
            "SceneCaptureType:Integer GainControl:Integer Contrast:Integer Saturation:Integer Sharpness:Integer "
            "DeviceSettingDescription:DeviceSettings SubjectDistanceRange:Integer ImageUniqueID:Text "
            "GPSVersionID:Text GPSLatitude:GPSCoordinate GPSLongitude:GPSCoordinate GPSAltitudeRef:Integer "
            "GPSAltitude:Rational GPSTimeStamp:Date GPSSatellites:Text GPSStatus:Text GPSMeasureMode:Integer "
            "GPSDOP:Rational GPSSpeedRef:Text GPSSpeed:Rational GPSTrackRef:Text GPSTrack:Rational "
            "GPSImgDirectionRef:Text GPSImgDirection:Rational GPSMapDatum:Text GPSDestLatitude:GPSCoordinate "
            "GPSDestLongitude:GPSCoordinate GPSDestBearingRef:Text GPSDestBearing:Rational "
            "GPSDestDistanceRef:Text GPSDestDistance:Rational GPSProcessingMethod:Text GPSAreaInformation:Text "
            "GPSDifferential:Integer",
    "aux": "Lens:Text SerialNumber:Text",
    "crs": "AutoBrightness:Boolean AutoContrast:Boolean AutoExposure:Boolean AutoShadows:Boolean BlueHue:Integer "
           "BlueSaturation:Integer Brightness:Integer CameraProfile:Text ChromaticAberrationB:Integer "
           "ChromaticAberrationR:Integer ColorNoiseReduction:Integer Contrast:Integer CropTop:Real CropLeft:Real "
           "CropBottom:Real CropRight:Real CropAngle:Real CropWidth:Real CropHeight:Real CropUnits:Integer "
           "Exposure:Real GreenHue:Integer GreenSaturation:Integer HasCrop:Boolean HasSettings:Boolean "
           "LuminanceSmoothing:Integer RawFileName:Text RedHue:Integer RedSaturation:Integer Saturation:Integer "
           "Shadows:Integer ShadowTint:Integer Sharpness:Integer Temperature:Integer Tint:Integer "
           "ToneCurve:Seq+Text ToneCurveName:Text Version:Text VignetteAmount:Integer VignetteMidpoint:Integer "
           "WhiteBalance:Text",
    "pdfaid": "part:Integer conformance:Text amd:Text corr:Text",
}
# Added by XMP 2005 (PDF/A-2 and -3 only).
_ADDED_2005 = {
    "xmp": "Label:Text Rating:Integer",
    "xmpTPg": "Fonts:Bag+Font Colorants:Seq+Colorant PlateNames:Seq+Text",
    "photoshop": "ColorMode:Integer History:Text ICCProfile:Text",
    "pdf": "Trapped:Text",
    "xmpDM": "projectRef:ProjectLink videoFrameRate:Text videoFrameSize:Dimensions videoPixelAspectRatio:Rational "
             "videoPixelDepth:Text videoColorSpace:Text videoAlphaMode:Text videoAlphaPremultipleColor:Colorant "
             "videoAlphaUnityIsTransparent:Boolean videoCompressor:Text videoFieldOrder:Text pullDown:Text "
             "audioSampleRate:Integer audioSampleType:Text audioChannelType:Text audioCompressor:Text "
             "speakerPlacement:Text fileDataRate:Rational tapeName:Text altTapeName:Text startTimecode:Timecode "
             "altTimecode:Timecode duration:Time scene:Text shotName:Text shotDate:Date shotLocation:Text "
             "logComment:Text markers:Seq+Marker contributedMedia:Bag+Media absPeakAudioFilePath:URI "
             "relativePeakAudioFilePath:URI videoModDate:Date audioModDate:Date metadataModDate:Date artist:Text "
             "album:Text trackNumber:Integer genre:Text copyright:Text releaseDate:Date composer:Text "
             "engineer:Text tempo:Real instrument:Text introTime:Time outCue:Time relativeTimestamp:Time "
             "loop:Boolean numberOfBeats:Real key:Text stretchMode:Text timeScaleParams:TimeScaleStretch "
             "resampleParams:ResampleStretch beatSpliceParams:BeatSpliceStretch timeSignature:Text "
             "scaleType:Text",
}

# Structured types: (namespace prefix of the fields, "field:Type …").
STRUCTS: dict[str, tuple[str, str]] = {
    "Dimensions": ("stDim", "w:Real h:Real unit:Text"),
    "Font": ("stFnt", "fontName:Text fontFamily:Text fontFace:Text fontType:Text versionString:Text "
                      "composite:Boolean fontFileName:Text childFontFiles:Seq+Text"),
    "Colorant": ("xmpG", "swatchName:Text mode:Text type:Text cyan:Real magenta:Real yellow:Real black:Real "
                         "red:Integer green:Integer blue:Integer L:Real A:Integer B:Integer"),
    "Thumbnail": ("xmpGImg", "height:Integer width:Integer format:Text image:Text"),
    "ResourceEvent": ("stEvt", "action:Text instanceID:URI parameters:Text softwareAgent:AgentName when:Date"),
    "ResourceRef": ("stRef", "instanceID:URI documentID:URI versionID:Text renditionClass:RenditionClass "
                             "renditionParams:Text manager:AgentName managerVariant:Text manageTo:URI "
                             "manageUI:URI"),
    "Version": ("stVer", "comments:Text event:ResourceEvent modifyDate:Date modifier:ProperName version:Text"),
    "Job": ("stJob", "name:Text id:Text url:URL"),
    "ProjectLink": ("xmpDM", "type:Text path:URI"),
    "Media": ("xmpDM", "path:URI track:Text startTime:Time duration:Time managed:Boolean webStatement:URI"),
    "Time": ("xmpDM", "value:Integer scale:Rational"),
    "Timecode": ("xmpDM", "timeValue:Text timeFormat:Text"),
    "Marker": ("xmpDM", "startTime:Text duration:Text comment:Text name:Text location:URI target:Text type:Text"),
    "ResampleStretch": ("xmpDM", "quality:Text"),
    "TimeScaleStretch": ("xmpDM", "quality:Text frameSize:Real frameOverlappingPercentage:Real"),
    "BeatSpliceStretch": ("xmpDM", "useFileBeatsMarker:Boolean riseInDecibel:Real riseInTimeDuration:Time"),
    "Flash": ("exif", "Fired:Boolean Return:Integer Mode:Integer Function:Boolean RedEyeMode:Boolean"),
    "OECF": ("exif", "Columns:Integer Rows:Integer Names:Seq+Text Values:Seq+Rational"),
    "CFAPattern": ("exif", "Columns:Integer Rows:Integer Values:Seq+Integer"),
    "DeviceSettings": ("exif", "Columns:Integer Rows:Integer Settings:Seq+Text"),
}
# Structures that exist only from XMP 2005.
STRUCTS_2005 = {"Font", "Colorant", "ProjectLink", "Media", "Time", "Timecode", "Marker", "ResampleStretch",
                "TimeScaleStretch", "BeatSpliceStretch"}

SIMPLE_TYPES = {"Text", "Integer", "Real", "Boolean", "Date", "Rational", "URI", "URL", "XPath", "Locale",
                "MIMEType", "AgentName", "ProperName", "RenditionClass", "GPSCoordinate", "Choice", "Lang Alt"}


def _parse(spec: str) -> dict[str, str]:
    return {name: type_.replace("+", " ") for name, type_ in (item.split(":", 1) for item in spec.split())}


def predefined(part: int) -> dict[str, dict[str, str]]:
    """namespace URI → {property name → type} for the XMP version that PDF/A-``part`` refers to."""
    schemas: dict[str, dict[str, str]] = {NS[p]: _parse(spec) for p, spec in _COMMON.items()}
    if part > 1:
        for prefix, spec in _ADDED_2005.items():
            schemas.setdefault(NS[prefix], {}).update(_parse(spec))
    if part == 1:
        del schemas[NS["pdfaid"]]["corr"]
        schemas[NS["photoshop"]]["SupplementalCategories"] = "Text"  # a bag only from XMP 2005
        del schemas[NS["crs"]]  # the Camera Raw schema is not among PDF/A-1's predefined schemas
    return schemas


def structs(part: int) -> dict[str, tuple[str, dict[str, str]]]:
    """structure name → (field namespace URI, {field → type})."""
    return {name: (NS[prefix], _parse(spec)) for name, (prefix, spec) in STRUCTS.items()
            if part > 1 or name not in STRUCTS_2005}


# The prefixes the PDF/A extension schema container must use (ISO 19005-1 6.7.8, -2 6.6.2.3.3).
CONTAINER_PREFIXES = {NS[p]: p for p in ("pdfaExtension", "pdfaSchema", "pdfaProperty", "pdfaType", "pdfaField")}

# Namespaces whose properties are described by the PDF/A extension schema container itself.
EXTENSION_NAMESPACES = {NS[p] for p in ("pdfaExtension", "pdfaSchema", "pdfaProperty", "pdfaType", "pdfaField")}
