/** Which part of a dataset a sample belongs to. */
export type Split = "train" | "test";

/** One image of a dataset, with everything needed to load and evaluate it. */
export interface SampleRecord {
  /** Absolute or dataset-relative path of the image file. */
  imagePath: string;
  /** The raw class name (e.g. "carpet"); the supervision CCL uses. */
  className: string;
  split: Split;
  /** Defect type; "good" means a normal image. */
  defect: string;
  /** 0 for normal, 1 for anomalous. */
  label: 0 | 1;
  /** Path of the ground-truth mask; absent for normal images (an all-zero mask). */
  maskPath?: string;
}

/** A dataset as read from disk: its records and where it came from. */
export interface Dataset {
  name: string;
  root: string;
  layout: string;
  records: SampleRecord[];
  classes: string[];
}
